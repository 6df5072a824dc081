// Package readme checks the Go snippets of the repository's README.md: each
// ```go block is a complete file; the test writes it into a package of its
// own under testdata, then vets it (which compiles it) and, when it holds
// tests, runs them. So the README cannot drift from the code.
//
// The package has no non-test code.
package readme
