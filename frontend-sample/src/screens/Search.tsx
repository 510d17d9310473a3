import { useState } from "react";
import type { AppError } from "../errors";
import { FindUserDocument, type FindUserQuery } from "../gql/graphql";
import { href } from "../router";
import { run, useSession } from "../session";
import { ErrorBanner, Field } from "../ui";

type Found = NonNullable<FindUserQuery["user"]>;

/**
 * Find people. The API has an exact, case-insensitive username lookup only
 * (user(username:)); a prefix search needs a search field in the schema.
 */
export function SearchScreen() {
  const { client } = useSession();
  const [term, setTerm] = useState("");
  const [found, setFound] = useState<Found | null | undefined>(undefined);
  const [error, setError] = useState<AppError | null>(null);

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    const result = await run(client, "query", FindUserDocument, { username: term.trim() });
    setError(result.error);
    setFound(result.data ? result.data.user ?? null : undefined);
  }

  return (
    <section className="narrow" aria-labelledby="search-title">
      <h1 id="search-title">Search</h1>
      <form role="search" onSubmit={submit} className="inline">
        <Field label="Username" id="search-term">
          <input id="search-term" name="q" type="search" required value={term} onChange={(e) => setTerm(e.target.value)} />
        </Field>
        <button type="submit">Search</button>
      </form>
      <ErrorBanner error={error} />
      <div aria-live="polite">
        {found === null && <p className="empty">No account is named “{term.trim()}”.</p>}
        {found && (
          <ul className="people">
            <li data-user={found.username}>
              <a href={href({ name: "profile", username: found.username })}>{found.username}</a>
              {found.fullName && <span className="fullname"> {found.fullName}</span>}
              {found.isPrivate && <span className="badge"> · private</span>}
            </li>
          </ul>
        )}
      </div>
    </section>
  );
}
