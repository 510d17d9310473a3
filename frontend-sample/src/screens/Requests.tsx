import { useCallback, useEffect, useState } from "react";
import type { AppError } from "../errors";
import {
  ApproveFollowRequestDocument,
  FollowRequestsDocument,
  RejectFollowRequestDocument,
  type FollowRequestsQuery,
} from "../gql/graphql";
import { href } from "../router";
import { run, useSession } from "../session";
import { ErrorBanner } from "../ui";

type Requester = NonNullable<FollowRequestsQuery["followRequests"]>["edges"][number]["node"];

/** Who asked to follow the viewer's private account: approve or reject each. */
export function RequestsScreen() {
  const { client, refreshViewer } = useSession();
  const [requests, setRequests] = useState<Requester[] | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [notice, setNotice] = useState("");

  const load = useCallback(async () => {
    const result = await run(client, "query", FollowRequestsDocument, { first: 50 });
    if (result.error) return setError(result.error);
    setRequests((result.data.followRequests?.edges ?? []).map((e) => e.node));
  }, [client]);

  useEffect(() => {
    void load();
  }, [load]);

  async function answer(user: Requester, approve: boolean) {
    const result = approve
      ? await run(client, "mutation", ApproveFollowRequestDocument, { userId: user.id })
      : await run(client, "mutation", RejectFollowRequestDocument, { userId: user.id });
    setError(result.error);
    if (!result.error) {
      setRequests((old) => old?.filter((r) => r.id !== user.id) ?? null);
      setNotice(approve ? `${user.username} now follows you.` : `You turned down ${user.username}.`);
      await refreshViewer();
    }
  }

  return (
    <section className="narrow" aria-labelledby="requests-title">
      <h1 id="requests-title">Follow requests</h1>
      <ErrorBanner error={error} />
      <p className="status" role="status">{notice}</p>
      {requests?.length === 0 && <p className="empty">No pending requests.</p>}
      <ul className="people">
        {requests?.map((r) => (
          <li key={r.id} data-user={r.username}>
            <a href={href({ name: "profile", username: r.username })}>{r.username}</a>
            {r.fullName && <span className="fullname"> {r.fullName}</span>}
            <span className="actions">
              <button type="button" onClick={() => void answer(r, true)} aria-label={`Approve ${r.username}`}>Approve</button>
              <button type="button" className="secondary" onClick={() => void answer(r, false)} aria-label={`Reject ${r.username}`}>Reject</button>
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
