// Package depcheck holds the test that keeps the import direction of
// DESIGN.md: client imports none of ours; rbac and verifier import client and
// never each other; middleware imports client, verifier and rbac; stytchtest
// imports client (and may use rbac); nothing imports middleware or example;
// the core packages do not import chi.
package depcheck
