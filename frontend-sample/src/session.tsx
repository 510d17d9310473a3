import type { AnyVariables, Client, DocumentInput, OperationResult } from "@urql/core";
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { loadToken, makeClient, saveToken } from "./client";
import { toAppError, type AppError } from "./errors";
import { LogOutDocument, ViewerDocument, type ViewerQuery } from "./gql/graphql";

export type Viewer = NonNullable<ViewerQuery["viewer"]>;

interface Session {
  client: Client;
  viewer: Viewer | null;
  /** false until the stored token has been checked. */
  ready: boolean;
  signIn(token: string): Promise<void>;
  signOut(): Promise<void>;
  refreshViewer(): Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}

export function SessionProvider({ children }: { children: React.ReactNode }) {
  const [token, setToken] = useState(loadToken);
  const client = useMemo(() => makeClient(token), [token]);
  const [viewer, setViewer] = useState<Viewer | null>(null);
  const [ready, setReady] = useState(false);

  const refreshViewer = useCallback(async () => {
    if (!token) {
      setViewer(null);
      setReady(true);
      return;
    }
    const result = await client.query(ViewerDocument, {}).toPromise();
    if (result.data?.viewer) setViewer(result.data.viewer);
    else if (!result.error || toAppError(result.error).code === "UNAUTHENTICATED") {
      // The token expired or was revoked elsewhere: sign in again.
      saveToken(null);
      setToken(null);
      setViewer(null);
    }
    setReady(true);
  }, [client, token]);

  useEffect(() => {
    void refreshViewer();
  }, [refreshViewer]);

  const signIn = useCallback(async (newToken: string) => {
    saveToken(newToken);
    setReady(false);
    setToken(newToken);
  }, []);

  const signOut = useCallback(async () => {
    await client.mutation(LogOutDocument, {}).toPromise();
    saveToken(null);
    setViewer(null);
    setToken(null);
  }, [client]);

  const value = useMemo(
    () => ({ client, viewer, ready, signIn, signOut, refreshViewer }),
    [client, viewer, ready, signIn, signOut, refreshViewer],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

type Outcome<D> = { data: D; error: null } | { data: null; error: AppError };

function outcome<D>(result: OperationResult<D, AnyVariables>): Outcome<D> {
  if (result.error) return { data: null, error: toAppError(result.error) };
  if (!result.data) return { data: null, error: { code: "NETWORK", message: "No answer from the server." } };
  return { data: result.data, error: null };
}

/** Run one query or mutation; errors come back as AppError, never thrown. */
export async function run<D, V extends AnyVariables>(
  client: Client,
  kind: "query" | "mutation",
  doc: DocumentInput<D, V>,
  variables: V,
  fetchOptions?: RequestInit,
): Promise<Outcome<D>> {
  const context = fetchOptions ? { fetchOptions } : undefined;
  const source = kind === "query" ? client.query(doc, variables, context) : client.mutation(doc, variables, context);
  return outcome(await source.toPromise());
}
