// Starts GraphiQL on the page. It lives in a file of its own rather than in the HTML so that the
// page's Content-Security-Policy can forbid inline scripts altogether.
"use strict";

(function () {
  var root = document.getElementById("graphiql");
  // The endpoint is relative to the page, so the page works under whatever path a proxy serves it.
  var url = new URL(root.dataset.endpoint, document.baseURI).href;
  var fetcher = GraphiQL.createFetcher({ url: url });
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      // A pasted access token stays in this tab: the headers are not written to local storage.
      shouldPersistHeaders: false,
    }),
  );
})();
