import { useCallback, useEffect, useRef, useState } from "react";
import type { AppError } from "../errors";
import { FeedDocument, type FeedQuery } from "../gql/graphql";
import { href } from "../router";
import { run, useSession } from "../session";
import { ErrorBanner } from "../ui";
import { PhotoCard } from "./PhotoCard";

export const FEED_PAGE_SIZE = 6;

// `feed` is nullable (v2: only it is nulled when refused); run() reports that error.
type FeedPhoto = NonNullable<FeedQuery["feed"]>["edges"][number]["node"];

/** The home feed: pages load as the end of the list scrolls into view. */
export function FeedScreen() {
  const { client } = useSession();
  const [photos, setPhotos] = useState<FeedPhoto[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(true);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const busy = useRef(false);

  const loadMore = useCallback(async () => {
    if (busy.current || !hasMore) return;
    busy.current = true;
    setLoading(true);
    const result = await run(client, "query", FeedDocument, { first: FEED_PAGE_SIZE, after: cursor });
    if (result.error) {
      setError(result.error);
      setHasMore(false);
    } else {
      const feed = result.data.feed;
      setPhotos((old) => [...old, ...(feed?.edges ?? []).map((e) => e.node)]);
      setCursor(feed?.pageInfo.endCursor ?? null);
      setHasMore(feed?.pageInfo.hasNextPage ?? false);
      setError(null);
    }
    setLoading(false);
    busy.current = false;
  }, [client, cursor, hasMore]);

  useEffect(() => {
    const node = sentinel.current;
    if (!node || !hasMore) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) void loadMore();
    }, { rootMargin: "200px" });
    observer.observe(node);
    return () => observer.disconnect();
  }, [loadMore, hasMore]);

  return (
    <section aria-labelledby="feed-title">
      <h1 id="feed-title">Home</h1>
      <ErrorBanner error={error} />
      {photos.length === 0 && !hasMore && !error && (
        <p className="empty">
          Nothing here yet. <a href={href({ name: "search" })}>Find people to follow</a> or{" "}
          <a href={href({ name: "upload" })}>post a photo</a>.
        </p>
      )}
      <ol className="feed" aria-busy={loading}>
        {photos.map((photo) => (
          <li key={photo.id}>
            <PhotoCard photo={photo} />
          </li>
        ))}
      </ol>
      <div ref={sentinel} className="sentinel" aria-hidden="true" />
      {loading && <p className="status" role="status">Loading…</p>}
      {hasMore && !loading && (
        <button type="button" className="more" onClick={() => void loadMore()}>Load more</button>
      )}
      {!hasMore && photos.length > 0 && <p className="status">You are all caught up.</p>}
    </section>
  );
}
