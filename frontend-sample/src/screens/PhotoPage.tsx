import { useCallback, useEffect, useState } from "react";
import type { AppError } from "../errors";
import { AddCommentDocument, DeleteCommentDocument, PhotoDocument, type PhotoQuery } from "../gql/graphql";
import { href } from "../router";
import { run, useSession } from "../session";
import { ErrorBanner, Field, PhotoImage } from "../ui";
import { LikeButton } from "./PhotoCard";

type Photo = NonNullable<PhotoQuery["photo"]>;
// Null while the photo's database server is down (UNAVAILABLE for the field).
type Comment = NonNullable<Photo["comments"]>["edges"][number]["node"];

/** One photo with its comments: like, comment, delete a comment. */
export function PhotoScreen({ id }: { id: string }) {
  const { client, viewer } = useSession();
  const [photo, setPhoto] = useState<Photo | null>(null);
  const [comments, setComments] = useState<Comment[]>([]);
  const [text, setText] = useState("");
  const [error, setError] = useState<AppError | null>(null);
  const [loaded, setLoaded] = useState(false);

  const load = useCallback(async () => {
    const result = await run(client, "query", PhotoDocument, { id, first: 50 });
    setLoaded(true);
    if (result.error) return setError(result.error);
    setPhoto(result.data.photo ?? null);
    setComments(result.data.photo?.comments?.edges.map((e) => e.node) ?? []);
  }, [client, id]);

  useEffect(() => {
    void load();
  }, [load]);

  async function addComment(event: React.FormEvent) {
    event.preventDefault();
    const result = await run(client, "mutation", AddCommentDocument, { photoId: id, text });
    setError(result.error);
    if (result.data) {
      setComments((old) => [result.data.addComment, ...old]);
      setText("");
    }
  }

  async function deleteComment(commentId: string) {
    const result = await run(client, "mutation", DeleteCommentDocument, { id: commentId });
    setError(result.error);
    if (result.data?.deleteComment) setComments((old) => old.filter((c) => c.id !== commentId));
  }

  if (!photo) {
    return (
      <section>
        <h1>Photo</h1>
        <ErrorBanner error={error} />
        {loaded && !error && <p>This photo does not exist (any more).</p>}
      </section>
    );
  }
  const mayDelete = (c: Comment) => viewer && (c.author.id === viewer.id || photo.owner.id === viewer.id);
  return (
    <section className="narrow" aria-labelledby="photo-title">
      <h1 id="photo-title">
        Photo by <a href={href({ name: "profile", username: photo.owner.username })}>{photo.owner.username}</a>
      </h1>
      <PhotoImage width={photo.width} height={photo.height} blurhash={photo.blurhash}
        renditions={[{ url: photo.medium, side: 640 }, { url: photo.large, side: 1080 }]}
        sizes="(max-width: 640px) 100vw, 600px" alt={photo.caption || `Photo by ${photo.owner.username}`} />
      {photo.caption && <p className="caption">{photo.caption}</p>}
      <LikeButton photo={photo} onError={setError} />
      <ErrorBanner error={error} />
      <h2>Comments</h2>
      <form onSubmit={addComment} className="inline">
        <Field label="Add a comment" id="comment-text">
          <input id="comment-text" name="text" required maxLength={1000} value={text}
            onChange={(e) => setText(e.target.value)} />
        </Field>
        <button type="submit">Post</button>
      </form>
      <ul className="comments">
        {comments.map((c) => (
          <li key={c.id} data-comment-id={c.id}>
            <a href={href({ name: "profile", username: c.author.username })}>{c.author.username}</a>{" "}
            <span className="text">{c.text}</span>
            {mayDelete(c) && (
              <button type="button" className="link" onClick={() => void deleteComment(c.id)}
                aria-label={`Delete comment "${c.text}"`}>Delete</button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
