import json,sys,collections
p=json.load(open(sys.argv[1])); target=sys.argv[2]
nodes={n['id']:n for n in p['nodes']}
parent={}
for n in p['nodes']:
    for c in n.get('children',[]): parent[c]=n['id']
cnt=collections.Counter(p['samples'])
stacks=collections.Counter()
for nid,c in cnt.items():
    if nodes[nid]['callFrame']['functionName']!=target: continue
    chain=[];x=parent.get(nid)
    while x and len(chain)<8:
        cf=nodes[x]['callFrame']; chain.append(f"{cf['functionName'] or 'anon'}@{cf['url'].split('/')[-1]}:{cf['lineNumber']}"); x=parent.get(x)
    stacks[' < '.join(chain)]+=c
for k,v in stacks.most_common(8): print(v,k)
