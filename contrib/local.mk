# contrib/: what is deployed elsewhere than on the hosts; shipped, not built. actions/ holds the
# Auth0 Action that governs the host applications' tokens (contrib/actions/README.md); its test,
# tests/actions/run (Node, no npm package), ships with it.
EXTRA_DIST += contrib/actions tests/actions
