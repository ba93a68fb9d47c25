// The console's root: the banner, and either the sign-in form or a signed-in session for the key
// kept in localStorage ('heartbeat:apiKey'). Signing out forgets the key; a refused key signs out
// with the reason in the banner.
import { LocationProvider } from 'preact-iso';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { BannerContext, type BannerControls, type BannerState } from './banner.ts';
import { ConsoleSession } from './console-session.tsx';
import { describeError } from './errors.ts';
import { keyFromInput, SignIn } from './sign-in.tsx';
import { ErrorBanner } from './ui/error-banner.tsx';

const KEY_STORAGE = 'heartbeat:apiKey';

export function App() {
  const [apiKey, setApiKey] = useState(() => keyFromInput(localStorage.getItem(KEY_STORAGE) ?? '') || null);
  const [banner, setBanner] = useState<BannerState | null>(null);

  const controls = useMemo<BannerControls>(
    () => ({
      show: (kind, message, actions) => setBanner({ kind, message, actions }),
      hide: (kind) => setBanner((current) => (!kind || current?.kind === kind ? null : current)),
    }),
    [],
  );

  const signIn = useCallback((key: string) => {
    localStorage.setItem(KEY_STORAGE, key);
    setBanner(null);
    setApiKey(key);
  }, []);

  const signOut = useCallback((reason?: string) => {
    localStorage.removeItem(KEY_STORAGE);
    setApiKey(null);
    setBanner(reason ? { kind: 'error', message: reason } : null);
  }, []);

  // A promise nobody waited for failed: say so rather than fail silently.
  useEffect(() => {
    const onRejection = (event: PromiseRejectionEvent) => controls.show('error', describeError(event.reason));
    window.addEventListener('unhandledrejection', onRejection);
    return () => window.removeEventListener('unhandledrejection', onRejection);
  }, [controls]);

  const bannerView = banner ? <ErrorBanner kind={banner.kind} message={banner.message} actions={banner.actions} onDismiss={() => setBanner(null)} /> : null;
  return (
    <BannerContext.Provider value={controls}>
      <LocationProvider>
        {apiKey ? (
          <ConsoleSession key={apiKey} apiKey={apiKey} signOut={signOut} banner={bannerView} />
        ) : (
          <>
            {bannerView}
            <SignIn onKey={signIn} />
          </>
        )}
      </LocationProvider>
    </BannerContext.Provider>
  );
}
