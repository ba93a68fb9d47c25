// The one banner under the top bar, shared by the sign-in form and every page: what it shows and
// the two ways to change it. A `connection` banner is taken down when the connection is back; an
// `error` stays until dismissed or replaced; a `notice` is information.
import { createContext, type ComponentChildren } from 'preact';
import { useContext } from 'preact/hooks';
import type { BannerKind } from './ui/error-banner.tsx';

export interface BannerState {
  kind: BannerKind;
  message: ComponentChildren;
  actions?: ComponentChildren;
}

export interface BannerControls {
  show(kind: BannerKind, message: ComponentChildren, actions?: ComponentChildren): void;
  /** Hides the banner, or only a banner of `kind`. */
  hide(kind?: BannerKind): void;
}

export const BannerContext = createContext<BannerControls>({ show: () => undefined, hide: () => undefined });

export const useBanner = () => useContext(BannerContext);
