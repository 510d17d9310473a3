import { useCallback, useEffect, useState } from "react";
import type { AppError } from "../errors";
import { ActivityDocument, type ActivityQuery } from "../gql/graphql";
import { href } from "../router";
import { run, useSession } from "../session";
import { ErrorBanner } from "../ui";

// `activity` is nullable (v2: only it is nulled when refused); run() reports that error.
type Item = NonNullable<ActivityQuery["activity"]>["edges"][number]["node"];

const VERB: Record<Item["kind"], string> = {
  LIKE: "liked your photo",
  COMMENT: "commented on your photo",
  FOLLOW: "started following you",
};

/** Likes and comments on the viewer's photos, and new followers. */
export function ActivityScreen() {
  const { client } = useSession();
  const [items, setItems] = useState<Item[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<AppError | null>(null);

  const load = useCallback(
    async (after: string | null) => {
      const result = await run(client, "query", ActivityDocument, { first: 30, after });
      setLoaded(true);
      if (result.error) return setError(result.error);
      const activity = result.data.activity;
      if (!activity) return;
      setItems((old) => (after ? [...old, ...activity.edges.map((e) => e.node)] : activity.edges.map((e) => e.node)));
      setCursor(activity.pageInfo.endCursor ?? null);
      setHasMore(activity.pageInfo.hasNextPage);
    },
    [client],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  return (
    <section className="narrow" aria-labelledby="activity-title">
      <h1 id="activity-title">Activity</h1>
      <ErrorBanner error={error} />
      {loaded && items.length === 0 && !error && <p className="empty">No activity yet.</p>}
      <ul className="activity">
        {items.map((item) => (
          <li key={item.id} data-kind={item.kind}>
            <a href={href({ name: "profile", username: item.actor.username })}>{item.actor.username}</a>{" "}
            {VERB[item.kind]}
            {item.photo && (
              <a href={href({ name: "photo", id: item.photo.id })} className="thumb">
                <img src={item.photo.thumbnail} width={48} height={48} alt="the photo" loading="lazy" />
              </a>
            )}
            <time dateTime={item.createdAt}>{new Date(item.createdAt).toLocaleString()}</time>
          </li>
        ))}
      </ul>
      {hasMore && <button type="button" className="more" onClick={() => void load(cursor)}>Load more</button>}
    </section>
  );
}
