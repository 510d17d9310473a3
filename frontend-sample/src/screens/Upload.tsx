import { useEffect, useState } from "react";
import type { UploadProgressInit } from "../client";
import type { AppError } from "../errors";
import { UploadPhotoDocument } from "../gql/graphql";
import { navigate } from "../router";
import { run, useSession } from "../session";
import { ErrorBanner, Field } from "../ui";

/** Pick an image, see it, add a caption, send it with a progress bar. */
export function UploadScreen() {
  const { client, viewer, refreshViewer } = useSession();
  const [file, setFile] = useState<File | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [caption, setCaption] = useState("");
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<AppError | null>(null);

  useEffect(() => {
    if (!file) return;
    const url = URL.createObjectURL(file);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [file]);

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    if (!file) return;
    setError(null);
    setProgress(0);
    const init: UploadProgressInit = { onUploadProgress: setProgress };
    const result = await run(client, "mutation", UploadPhotoDocument, { file, caption: caption || null }, init);
    if (result.error) {
      setError(result.error);
      setProgress(null);
      return;
    }
    setProgress(1);
    await refreshViewer();
    navigate({ name: "profile", username: viewer?.username ?? result.data.uploadPhoto.owner.username });
  }

  return (
    <section className="narrow" aria-labelledby="upload-title">
      <h1 id="upload-title">New photo</h1>
      <form onSubmit={submit}>
        <Field label="Photo (JPEG, PNG, WebP or HEIC)" id="file">
          <input id="file" name="file" type="file" required accept="image/jpeg,image/png,image/webp,image/heic,.heic"
            onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        </Field>
        {preview && <img className="preview" src={preview} alt="Preview of the photo to upload" />}
        <Field label="Caption" id="caption">
          <textarea id="caption" name="caption" rows={3} maxLength={2200} value={caption}
            onChange={(e) => setCaption(e.target.value)} />
        </Field>
        {progress !== null && (
          <progress id="upload-progress" max={1} value={progress} aria-label="Upload progress">
            {Math.round(progress * 100)}%
          </progress>
        )}
        <ErrorBanner error={error} />
        <button type="submit" disabled={!file || (progress !== null && progress < 1 && !error)}>Share</button>
      </form>
    </section>
  );
}
