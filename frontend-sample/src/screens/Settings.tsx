import { useEffect, useState } from "react";
import type { AppError } from "../errors";
import { UpdateProfileDocument } from "../gql/graphql";
import { run, useSession } from "../session";
import { ErrorBanner, Field } from "../ui";

/** Name, bio and whether the account is private. */
export function SettingsScreen() {
  const { client, viewer, refreshViewer } = useSession();
  const [fullName, setFullName] = useState(viewer?.fullName ?? "");
  const [bio, setBio] = useState(viewer?.bio ?? "");
  const [isPrivate, setIsPrivate] = useState(viewer?.isPrivate ?? false);
  const [error, setError] = useState<AppError | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    setFullName(viewer?.fullName ?? "");
    setBio(viewer?.bio ?? "");
    setIsPrivate(viewer?.isPrivate ?? false);
  }, [viewer]);

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setSaved(false);
    const result = await run(client, "mutation", UpdateProfileDocument, { fullName, bio, isPrivate });
    setError(result.error);
    if (!result.error) {
      setSaved(true);
      await refreshViewer();
    }
  }

  return (
    <section className="narrow" aria-labelledby="settings-title">
      <h1 id="settings-title">Profile settings</h1>
      <form onSubmit={submit}>
        <Field label="Full name" id="full-name">
          <input id="full-name" value={fullName} maxLength={100} onChange={(e) => setFullName(e.target.value)} />
        </Field>
        <Field label="Bio" id="bio">
          <textarea id="bio" rows={3} value={bio} maxLength={500} onChange={(e) => setBio(e.target.value)} />
        </Field>
        <div className="field check">
          <input id="private" type="checkbox" checked={isPrivate} onChange={(e) => setIsPrivate(e.target.checked)} />
          <label htmlFor="private">Private account (only approved followers see your photos)</label>
        </div>
        <ErrorBanner error={error} />
        {saved && <p className="status" role="status">Saved.</p>}
        <button type="submit">Save</button>
      </form>
    </section>
  );
}
