import { useCallback, useEffect, useState } from "react";
import type { AppError } from "../errors";
import {
  FollowDocument,
  ProfileDocument,
  ProfilePhotosDocument,
  UnfollowDocument,
  type ProfilePhotosQuery,
  type ProfileQuery,
} from "../gql/graphql";
import { href } from "../router";
import { run, useSession } from "../session";
import { ErrorBanner, PhotoImage } from "../ui";

type User = NonNullable<ProfileQuery["user"]>;
type GridPhoto = NonNullable<NonNullable<ProfilePhotosQuery["user"]>["photos"]>["edges"][number]["node"];

const GRID_PAGE_SIZE = 12;

/** A user's profile: counts, follow/unfollow (a request for private accounts), photo grid. */
export function ProfileScreen({ username }: { username: string }) {
  const { client, viewer } = useSession();
  const [user, setUser] = useState<User | null>(null);
  const [missing, setMissing] = useState(false);
  const [photos, setPhotos] = useState<GridPhoto[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [hidden, setHidden] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const [busy, setBusy] = useState(false);

  // The photos are asked for apart from the profile: a private account's
  // photos are refused to strangers, and in today's schema that error would
  // null the whole user (User.photos is not nullable).
  const loadPhotos = useCallback(
    async (after: string | null) => {
      const result = await run(client, "query", ProfilePhotosDocument, { username, first: GRID_PAGE_SIZE, after });
      if (result.error) {
        if (result.error.code === "FORBIDDEN") setHidden(true);
        else setError(result.error);
        return;
      }
      const connection = result.data.user?.photos;
      if (!connection) return;
      setHidden(false);
      setPhotos((old) => (after ? [...old, ...connection.edges.map((e) => e.node)] : connection.edges.map((e) => e.node)));
      setCursor(connection.pageInfo.endCursor ?? null);
      setHasMore(connection.pageInfo.hasNextPage);
    },
    [client, username],
  );

  const load = useCallback(async () => {
    setError(null);
    const result = await run(client, "query", ProfileDocument, { username });
    if (result.error) return setError(result.error);
    setUser(result.data.user ?? null);
    setMissing(!result.data.user);
    setPhotos([]);
    if (result.data.user) await loadPhotos(null);
  }, [client, username, loadPhotos]);

  useEffect(() => {
    void load();
  }, [load]);

  async function toggleFollow() {
    if (!user) return;
    setBusy(true);
    const following = user.viewerFollows || user.viewerHasRequested;
    const result = following
      ? await run(client, "mutation", UnfollowDocument, { userId: user.id })
      : await run(client, "mutation", FollowDocument, { userId: user.id });
    setBusy(false);
    setError(result.error);
    if (result.data) {
      const changed = "follow" in result.data ? result.data.follow : result.data.unfollow;
      setUser({ ...user, ...changed });
      if (changed.viewerFollows) await loadPhotos(null);
    }
  }

  if (missing) {
    return (
      <section>
        <h1>{username}</h1>
        <p>There is no account named “{username}”.</p>
      </section>
    );
  }
  if (!user) return <section><h1>{username}</h1><ErrorBanner error={error} /></section>;
  const self = viewer?.id === user.id;
  const followLabel = user.viewerFollows ? "Unfollow" : user.viewerHasRequested ? "Cancel request" : user.isPrivate ? "Request to follow" : "Follow";
  return (
    <section aria-labelledby="profile-title">
      <header className="profile">
        <h1 id="profile-title">{user.username}{user.isPrivate && <span className="badge"> · private</span>}</h1>
        {user.fullName && <p className="fullname">{user.fullName}</p>}
        {user.bio && <p className="bio">{user.bio}</p>}
        <ul className="counts">
          <li><strong data-testid="photo-count">{user.photoCount}</strong> photos</li>
          <li><strong data-testid="follower-count">{user.followerCount}</strong> followers</li>
          <li><strong>{user.followingCount}</strong> following</li>
        </ul>
        {!self && viewer && (
          <button type="button" onClick={toggleFollow} disabled={busy} aria-pressed={user.viewerFollows}>
            {followLabel}
          </button>
        )}
        {user.viewerHasRequested && <p className="status" role="status">Follow request sent.</p>}
      </header>
      <ErrorBanner error={error} />
      {hidden ? (
        <p className="empty">This account is private. Approved followers see its photos.</p>
      ) : photos.length === 0 ? (
        <p className="empty">No photos yet.</p>
      ) : (
        <ul className="grid" aria-label={`Photos by ${user.username}`}>
          {photos.map((p) => (
            <li key={p.id} data-photo-id={p.id}>
              <a href={href({ name: "photo", id: p.id })} aria-label={`Photo with ${p.likeCount} likes and ${p.commentCount} comments`}>
                <PhotoImage square width={p.width} height={p.height} blurhash={p.blurhash}
                  renditions={[{ url: p.thumbnail, side: 150, width: 150 }, { url: p.medium, side: 640 }]}
                  sizes="(max-width: 640px) 33vw, 300px" alt="" />
              </a>
            </li>
          ))}
        </ul>
      )}
      {hasMore && <button type="button" className="more" onClick={() => void loadPhotos(cursor)}>Load more</button>}
    </section>
  );
}
