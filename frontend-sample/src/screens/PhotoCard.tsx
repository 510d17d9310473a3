import { useState } from "react";
import type { AppError } from "../errors";
import { LikePhotoDocument, UnlikePhotoDocument } from "../gql/graphql";
import { href } from "../router";
import { run, useSession } from "../session";
import { ErrorBanner, PhotoImage } from "../ui";

export interface CardPhoto {
  id: string;
  caption?: string | null;
  createdAt: string;
  width: number;
  height: number;
  blurhash: string;
  medium: string;
  large: string;
  likeCount: number;
  commentCount: number;
  // Null while the photo's database server is down (UNAVAILABLE for the field).
  viewerHasLiked?: boolean | null;
  owner: { id: string; username: string };
}

export function LikeButton(props: {
  photo: { id: string; likeCount: number; viewerHasLiked?: boolean | null };
  onError(error: AppError | null): void;
}) {
  const { client } = useSession();
  const [state, setState] = useState(props.photo);
  const [busy, setBusy] = useState(false);

  async function toggle() {
    setBusy(true);
    const result = state.viewerHasLiked
      ? await run(client, "mutation", UnlikePhotoDocument, { id: state.id })
      : await run(client, "mutation", LikePhotoDocument, { id: state.id });
    setBusy(false);
    props.onError(result.error);
    if (result.data) setState("likePhoto" in result.data ? result.data.likePhoto : result.data.unlikePhoto);
  }

  return (
    <button type="button" className="like" aria-pressed={state.viewerHasLiked ?? false} disabled={busy} onClick={toggle}>
      {state.viewerHasLiked ? "♥ Unlike" : "♡ Like"}
      <span className="count" data-testid="like-count"> · {state.likeCount}</span>
    </button>
  );
}

export function PhotoCard({ photo }: { photo: CardPhoto }) {
  const [error, setError] = useState<AppError | null>(null);
  return (
    <article className="card" data-photo-id={photo.id} aria-label={`Photo by ${photo.owner.username}`}>
      <header>
        <a href={href({ name: "profile", username: photo.owner.username })}>{photo.owner.username}</a>
        <time dateTime={photo.createdAt}>{new Date(photo.createdAt).toLocaleString()}</time>
      </header>
      <a href={href({ name: "photo", id: photo.id })} aria-label="Open photo and comments">
        <PhotoImage
          width={photo.width}
          height={photo.height}
          blurhash={photo.blurhash}
          renditions={[{ url: photo.medium, side: 640 }, { url: photo.large, side: 1080 }]}
          sizes="(max-width: 640px) 100vw, 600px"
          alt={photo.caption || `Photo by ${photo.owner.username}`}
        />
      </a>
      {photo.caption && <p className="caption">{photo.caption}</p>}
      <footer>
        <LikeButton photo={photo} onError={setError} />
        <a href={href({ name: "photo", id: photo.id })}>
          {photo.commentCount === 1 ? "1 comment" : `${photo.commentCount} comments`}
        </a>
      </footer>
      <ErrorBanner error={error} />
    </article>
  );
}
