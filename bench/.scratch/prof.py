import json,sys,collections
p=json.load(open(sys.argv[1]))
nodes={n['id']:n for n in p['nodes']}
self_t=collections.Counter()
samples=p['samples']; deltas=p['timeDeltas']
cnt=collections.Counter(samples)
total=len(samples)
for nid,c in cnt.items():
    n=nodes[nid]; cf=n['callFrame']
    key=f"{cf['functionName'] or '(anon)'} {cf['url'].split('/')[-1]}:{cf['lineNumber']}"
    self_t[key]+=c
print('total samples',total)
for k,v in self_t.most_common(40): print(f"{v*100/total:5.1f}% {k}")
