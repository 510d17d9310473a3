import { decode } from "blurhash";
import { useEffect, useRef, useState } from "react";
import type { AppError } from "./errors";

/** An error in words, read out by screen readers; RATE_LIMITED counts down its wait. */
export function ErrorBanner({ error }: { error: AppError | null }) {
  const [left, setLeft] = useState(error?.retryAfter ?? 0);
  useEffect(() => {
    setLeft(error?.retryAfter ?? 0);
    if (!error?.retryAfter) return;
    const timer = window.setInterval(() => setLeft((s) => Math.max(0, s - 1)), 1000);
    return () => window.clearInterval(timer);
  }, [error]);
  if (!error) return null;
  return (
    <p className="error" role="alert" data-code={error.code}>
      {error.message}
      {error.retryAfter !== undefined &&
        (left > 0 ? ` Try again in ${left} s.` : " You can try again now.")}
    </p>
  );
}

function BlurhashCanvas({ hash }: { hash: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    const ctx = canvas?.getContext("2d");
    if (!canvas || !ctx || !hash) return;
    try {
      const pixels = decode(hash, 32, 32);
      const image = ctx.createImageData(32, 32);
      image.data.set(pixels);
      ctx.putImageData(image, 0, 0);
    } catch {
      // A malformed hash leaves the plain background.
    }
  }, [hash]);
  return <canvas ref={ref} width={32} height={32} className="blurhash" aria-hidden="true" />;
}

interface Rendition {
  url: string;
  /** The rendition's longest side (MEDIUM 640, LARGE 1080; never upscaled). */
  side: number;
  /** Its width when it is not the photo scaled to `side` (THUMBNAIL: a 150 square crop). */
  width?: number;
}

/**
 * A photo with its BlurHash painted until the image has loaded, and a srcset
 * so the browser picks the smallest rendition that fills the slot.
 */
export function PhotoImage(props: {
  width: number;
  height: number;
  blurhash: string;
  renditions: Rendition[];
  sizes: string;
  alt: string;
  square?: boolean;
}) {
  const [loaded, setLoaded] = useState(false);
  const longest = Math.max(props.width, props.height, 1);
  // The w descriptor is the rendition's real width (width/height are LARGE's).
  const srcset = props.renditions
    .map((r) => `${r.url} ${r.width ?? Math.max(1, Math.round((props.width * Math.min(r.side, longest)) / longest))}w`)
    .join(", ");
  const fallback = props.renditions[0]?.url;
  return (
    <div
      className={`photo${props.square ? " square" : ""}${loaded ? " loaded" : ""}`}
      style={props.square ? undefined : { aspectRatio: `${props.width} / ${props.height}` }}
    >
      <BlurhashCanvas hash={props.blurhash} />
      <img
        src={fallback}
        srcSet={srcset}
        sizes={props.sizes}
        width={props.width}
        height={props.height}
        alt={props.alt}
        loading="lazy"
        decoding="async"
        onLoad={() => setLoaded(true)}
      />
    </div>
  );
}

export function Field(props: {
  label: string;
  id: string;
  children: React.ReactNode;
}) {
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      {props.children}
    </div>
  );
}
