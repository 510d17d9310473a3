import { useEffect, useRef } from "react";
import { href, navigate, useRoute, type Route } from "./router";
import { useSession } from "./session";
import { ActivityScreen } from "./screens/Activity";
import { AuthScreen } from "./screens/Auth";
import { FeedScreen } from "./screens/Feed";
import { PhotoScreen } from "./screens/PhotoPage";
import { ProfileScreen } from "./screens/Profile";
import { RequestsScreen } from "./screens/Requests";
import { SearchScreen } from "./screens/Search";
import { SettingsScreen } from "./screens/Settings";
import { UploadScreen } from "./screens/Upload";

function Screen({ route }: { route: Route }) {
  switch (route.name) {
    case "signin":
    case "signup":
      return <AuthScreen key={route.name} mode={route.name} />;
    case "upload":
      return <UploadScreen />;
    case "photo":
      return <PhotoScreen key={route.id} id={route.id} />;
    case "profile":
      return <ProfileScreen key={route.username} username={route.username} />;
    case "requests":
      return <RequestsScreen />;
    case "activity":
      return <ActivityScreen />;
    case "search":
      return <SearchScreen />;
    case "settings":
      return <SettingsScreen />;
    case "feed":
      return <FeedScreen />;
  }
}

export function App() {
  const route = useRoute();
  const { viewer, ready, signOut } = useSession();
  const main = useRef<HTMLElement>(null);
  const anonymousRoute = route.name === "signin" || route.name === "signup";

  useEffect(() => {
    if (ready && !viewer && !anonymousRoute) navigate({ name: "signin" });
  }, [ready, viewer, anonymousRoute]);

  // After a navigation, keyboard and screen-reader users start at the new screen.
  useEffect(() => {
    main.current?.focus();
  }, [route]);

  const current = (name: Route["name"]) => (route.name === name ? "page" : undefined);
  return (
    <>
      <a className="skip" href="#main" onClick={(e) => { e.preventDefault(); main.current?.focus(); }}>
        Skip to content
      </a>
      <header className="top">
        <a className="brand" href={href({ name: "feed" })}>photoshare</a>
        {viewer && (
          <nav aria-label="Main">
            <a href={href({ name: "feed" })} aria-current={current("feed")}>Home</a>
            <a href={href({ name: "search" })} aria-current={current("search")}>Search</a>
            <a href={href({ name: "upload" })} aria-current={current("upload")}>Upload</a>
            <a href={href({ name: "activity" })} aria-current={current("activity")}>Activity</a>
            {viewer.isPrivate && (
              <a href={href({ name: "requests" })} aria-current={current("requests")}>Requests</a>
            )}
            <a href={href({ name: "profile", username: viewer.username })}
              aria-current={route.name === "profile" && route.username === viewer.username ? "page" : undefined}>
              {viewer.username}
            </a>
            <a href={href({ name: "settings" })} aria-current={current("settings")}>Settings</a>
            <button type="button" className="link" onClick={async () => { await signOut(); navigate({ name: "signin" }); }}>
              Sign out
            </button>
          </nav>
        )}
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {!ready ? <p role="status">Loading…</p> : viewer || anonymousRoute ? <Screen route={route} /> : null}
      </main>
    </>
  );
}
