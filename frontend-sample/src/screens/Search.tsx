import { useEffect, useRef, useState } from "react";
import type { AppError } from "../errors";
import { SearchUsersDocument, type SearchUsersQuery } from "../gql/graphql";
import { href } from "../router";
import { run, useSession } from "../session";
import { ErrorBanner, Field } from "../ui";

type Person = SearchUsersQuery["searchUsers"]["edges"][number]["node"];

const PAGE = 20;
// Ask once typing pauses this long, not on every key.
const PAUSE_MS = 200;

/** Find people by a prefix of their username or name, best matches first, as you type. */
export function SearchScreen() {
  const { client } = useSession();
  const [term, setTerm] = useState("");
  const [people, setPeople] = useState<Person[] | undefined>(undefined);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const asked = useRef(0);

  async function search(query: string, after: string | null) {
    const ticket = ++asked.current;
    const result = await run(client, "query", SearchUsersDocument, { query, first: PAGE, after });
    if (ticket !== asked.current) return; // a later keystroke asked again
    setError(result.error);
    const page = result.data?.searchUsers;
    if (!page) return;
    const found = page.edges.map((e) => e.node);
    setPeople((before) => (after && before ? [...before, ...found] : found));
    setNext(page.pageInfo.hasNextPage ? page.pageInfo.endCursor ?? null : null);
  }

  useEffect(() => {
    const query = term.trim();
    if (!query) {
      asked.current++;
      setPeople(undefined);
      setNext(null);
      return;
    }
    const timer = window.setTimeout(() => void search(query, null), PAUSE_MS);
    return () => window.clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [term]);

  function submit(event: React.FormEvent) {
    event.preventDefault();
    if (term.trim()) void search(term.trim(), null);
  }

  return (
    <section className="narrow" aria-labelledby="search-title">
      <h1 id="search-title">Search</h1>
      <form role="search" onSubmit={submit} className="inline">
        <Field label="Username or name" id="search-term">
          <input
            id="search-term"
            name="q"
            type="search"
            autoComplete="off"
            maxLength={64}
            required
            value={term}
            onChange={(e) => setTerm(e.target.value)}
          />
        </Field>
        <button type="submit">Search</button>
      </form>
      <ErrorBanner error={error} />
      <div aria-live="polite">
        {people && people.length === 0 && <p className="empty">Nobody matches “{term.trim()}”.</p>}
        {people && people.length > 0 && (
          <ul className="people">
            {people.map((p) => (
              <li key={p.id} data-user={p.username}>
                <a href={href({ name: "profile", username: p.username })}>{p.username}</a>
                {p.fullName && <span className="fullname"> {p.fullName}</span>}
                {p.isPrivate && <span className="badge"> · private</span>}
              </li>
            ))}
          </ul>
        )}
        {next && (
          <button type="button" onClick={() => void search(term.trim(), next)}>
            More people
          </button>
        )}
      </div>
    </section>
  );
}
