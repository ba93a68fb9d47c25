// The three small POSIX sh programs a sandboxed agent is started through (agent-sandbox.ts puts them
// together). Every external command they run is named by an absolute path found at start
// (agent-sandbox-probe.ts) and they run with an environment of the sandbox's own making: the agent's
// variables travel encoded (SANDBOX_ENV_PREFIX) and only become real ones in the last step, as the
// agent's user, right before the agent is exec'd. Otherwise an operator's `env` (LD_PRELOAD, PATH,
// GLIBC_TUNABLES, LIBMOUNT_FSTAB, ...) would steer `mount` or `setpriv` while they still run with the
// server's privileges. Everything comes in as positional parameters, never spliced into script text.

/** Absolute paths of the host commands the scripts run. */
export interface SandboxTools {
  sh: string;
  env: string;
  unshare: string;
  setpriv: string;
  mount: string;
  mkdir: string;
  chown: string;
}

/** Prefix of the variables carrying the agent's environment (`<prefix><i>=NAME=value`) and of the scripts' own. */
export const SANDBOX_VAR_PREFIX = '_HEARTBEAT_SANDBOX_';
export const SANDBOX_ENV_PREFIX = `${SANDBOX_VAR_PREFIX}ENV_`;

/** The exit status of a sandbox that could not be set up (a hide or keep that failed): before the agent ran. */
export const SETUP_FAILED_STATUS = 125;

/**
 * The group leader the adapter spawns, outside the namespaces, when there is a PID namespace: runs
 * `unshare ...` and ends the way the agent ended. The namespace's init can only exit (nothing kills the
 * init of a PID namespace from inside it), so an agent killed by SIGTERM comes back as status 143; this
 * turns 129-143 back into death by that signal, which is how the adapter reports a killed agent. It
 * waits through SIGTERM/SIGINT/SIGHUP sent to the group (the agent gets them too) so that the status
 * it reports is the agent's; no core file of its own for a SIGSEGV it merely passes on.
 */
export const OUTER_SCRIPT = `trap : HUP INT TERM
"$@"
status=$?
if [ "$status" -gt 128 ] && [ "$status" -lt 144 ]; then
  trap - HUP INT TERM
  ulimit -c 0
  kill -$((status - 128)) $$
fi
exit "$status"`;

/**
 * Runs with the server's privileges (root, or root of the sandbox's own user namespace), in the new
 * namespaces when there are some. $1 is `fork` (it is PID 1 of a new PID namespace) or `exec` (no
 * namespace: it just becomes the launcher). Then operations, up to `--`, then the launcher:
 *
 *   own OWNER PATH   chown -h (never follows a symlink the agent may have put there)
 *   hide PATH        a directory: an empty tmpfs over it (0711: passed through, not listed); a file:
 *                    /dev/null over it; missing: nothing
 *   fresh PATH       a directory: an empty tmpfs of the agent's own over it (1777, like /tmp)
 *   keep REL PATH    bind the original REL below the last covered directory back at PATH: through the
 *                    descriptor opened on it before it was covered (mount -c: not canonicalised, so the
 *                    kernel follows /proc/self/fd/4 into the covered tree, not the path string)
 *
 * In `fork` mode it stays as init: the agent runs as its child and it exits with the agent's status
 * (when it exits, the kernel kills whatever is left in the namespace). It sets no signal handler on
 * purpose: an init without one is not touched by SIGTERM/SIGINT/SIGHUP (from inside or outside its
 * namespace), and the agent needs nobody to pass them on, since it is in the adapter's process group
 * and the adapter signals the group and every process of the run's tree. Passing them on as well
 * would hand the agent each signal a second time, later, which many CLIs read as "stop now, skip the
 * clean-up". The launcher's stdin is the real one (an asynchronous command would get /dev/null); the
 * init's stderr goes quiet once the agent is started (dash would add a line of its own, "Terminated",
 * for an agent killed by a signal).
 */
export function initScript(tools: SandboxTools, resetSignals: boolean): string {
  // dash starts asynchronous commands with SIGINT and SIGQUIT ignored, and an ignored signal stays
  // ignored through exec: env --default-signal gives the agent its normal ones back.
  const launch = resetSignals ? `${tools.env} --default-signal=INT,QUIT "$@"` : '"$@"';
  // The directories made in a tmpfs to bind kept ones on must be passable whatever the server's umask;
  // the agent gets the server's umask back.
  return `mode=$1; shift
mask=$(umask)
umask 022
fail() { printf 'heartbeat sandbox: %s\\n' "$1" >&2; exit ${SETUP_FAILED_STATUS}; }
while [ "$#" -gt 0 ]; do
  case $1 in
    own) ${tools.chown} -h -- "$2" "$3" || fail "cannot give $3 to the agent's user"; shift 3 ;;
    hide)
      if [ -d "$2" ]; then
        exec 4<"$2"
        ${tools.mount} -t tmpfs -o mode=0711,size=64k,nosuid,nodev,noexec heartbeat-hidden "$2" || fail "cannot hide $2"
      else
        exec 4<&-
        if [ -e "$2" ]; then ${tools.mount} --bind /dev/null "$2" || fail "cannot hide $2"; fi
      fi
      shift 2 ;;
    fresh)
      exec 4<&-
      if [ -d "$2" ]; then
        exec 4<"$2"
        ${tools.mount} -t tmpfs -o mode=1777,nosuid,nodev heartbeat-fresh "$2" || fail "cannot cover $2"
      fi
      shift 2 ;;
    keep)
      if [ -d "/proc/self/fd/4/$2" ]; then
        ${tools.mkdir} -p -- "$3" && ${tools.mount} -c --bind "/proc/self/fd/4/$2" "$3" || fail "cannot keep $3"
      fi
      shift 3 ;;
    --) shift; break ;;
    *) fail "unknown operation $1" ;;
  esac
done
exec 4<&-
umask "$mask"
if [ "$mode" = exec ]; then exec "$@"; fi
exec 3<&0
( exec ${launch} ) <&3 3<&- &
exec 3<&- 2>/dev/null
wait "$!"
exit "$?"`;
}

/**
 * The last step, as the agent's user: $1 the working directory to enter as that user, $2 how many encoded variables there are, then the agent's command and arguments. It
 * replaces its own environment by the agent's (decoding SANDBOX_ENV_PREFIX variables) and execs the
 * agent, which so gets exactly the environment the adapter built, looks its command up on the agent's
 * PATH, and is the same process (same pid, same group) as this script. Its variables carry the reserved
 * prefix so an agent variable of the same name cannot change the loop.
 */
export const EXEC_SCRIPT = `cd "$1" 2>/dev/null || { printf 'heartbeat sandbox: the agent cannot enter %s\\n' "$1" >&2; exit 126; }
_HEARTBEAT_SANDBOX_N=$2
shift 2
unset PATH PWD OLDPWD _HEARTBEAT_PROCESS_TREE
_HEARTBEAT_SANDBOX_I=0
while [ "$_HEARTBEAT_SANDBOX_I" -lt "$_HEARTBEAT_SANDBOX_N" ]; do
  eval "_HEARTBEAT_SANDBOX_E=\\$_HEARTBEAT_SANDBOX_ENV_$_HEARTBEAT_SANDBOX_I"
  unset "_HEARTBEAT_SANDBOX_ENV_$_HEARTBEAT_SANDBOX_I"
  export "\${_HEARTBEAT_SANDBOX_E%%=*}=\${_HEARTBEAT_SANDBOX_E#*=}"
  _HEARTBEAT_SANDBOX_I=$((_HEARTBEAT_SANDBOX_I + 1))
done
unset _HEARTBEAT_SANDBOX_E _HEARTBEAT_SANDBOX_I _HEARTBEAT_SANDBOX_N
command -v "$1" >/dev/null 2>&1 || { printf 'heartbeat sandbox: %s: command not found\\n' "$1" >&2; exit 127; }
exec "$@"`;
