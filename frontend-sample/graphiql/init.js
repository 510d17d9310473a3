// GraphiQL for the photoshare API (served by the app at GET /graphql; its
// files at /static/graphiql/). No inline script, no CDN: see backend/graph/graphiql.html.
(function () {
  "use strict";

  var DEFAULT_QUERY = [
    "# Welcome to the photoshare API.",
    "#",
    "# How to sign in and send your token:",
    "#  1. Run the LogIn mutation below (press the play button, or Ctrl-Enter,",
    '#     and pick "LogIn"). After `make up` the demo accounts are alice, bob,',
    '#     carol, dave, erin and frank, password "demo-password"; or use signUp.',
    '#  2. Copy the "token" from the answer.',
    "#  3. Open the Headers tab (bottom left) and replace the placeholder:",
    '#       { "Authorization": "Bearer <your token>" }',
    "#     Every request from now on is made as that user (the headers are kept",
    "#     in this browser).",
    '#  4. Run "Me" to see your profile and home feed.',
    "#",
    "# The Docs button (book icon, top left) lists every type and field; the",
    "# Explorer builds queries by clicking. Errors carry extensions.code",
    "# (UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED with retryAfter, ...).",
    "",
    "mutation LogIn {",
    '  logIn(username: "alice", password: "demo-password") {',
    "    token",
    "    user { id username }",
    "  }",
    "}",
    "",
    "query Me {",
    "  viewer { id username photoCount followerCount followingCount }",
    "  feed(first: 5) {",
    "    edges { node { id caption url(size: MEDIUM) owner { username } } }",
    "    pageInfo { hasNextPage endCursor }",
    "  }",
    "}",
    "",
  ].join("\n");

  var PLACEHOLDER = "Bearer PASTE-YOUR-TOKEN-HERE";
  var DEFAULT_HEADERS = JSON.stringify({ Authorization: PLACEHOLDER }, null, 2);

  var url = window.location.href.split(/[?#]/)[0];
  var base = GraphiQL.createFetcher({ url: url });

  // Until a real token is pasted, the placeholder is not sent (the server
  // would treat it as a bad token).
  function fetcher(params, options) {
    var headers = Object.assign({}, (options && options.headers) || {});
    Object.keys(headers).forEach(function (name) {
      if (String(headers[name]).indexOf("PASTE-YOUR-TOKEN") !== -1) delete headers[name];
    });
    return base(params, Object.assign({}, options, { headers: headers }));
  }

  var explorer = GraphiQLPluginExplorer.explorerPlugin();
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: DEFAULT_QUERY,
      defaultHeaders: DEFAULT_HEADERS,
      shouldPersistHeaders: true,
      defaultEditorToolsVisibility: "headers",
      plugins: [explorer],
    }),
  );
})();
