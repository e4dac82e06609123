// Package bench holds side-by-side benchmarks of llmops against peer
// libraries. It is a module of its own so that the peers never enter the
// SDK's go.mod. Run it with:
//
//	cd bench && go test -run '^$' -bench . -benchmem
//
// Figures and the commands that produced them are in ../BENCHMARKS.md.
package bench
