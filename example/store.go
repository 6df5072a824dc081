package main

import (
	"errors"
	"strconv"
	"sync"
	"time"
)

// maxDocumentsPerOrg bounds the in-memory documents of one organization, so
// a demo left running cannot be grown without limit.
const maxDocumentsPerOrg = 1000

// errStoreFull is returned by create when an organization holds
// maxDocumentsPerOrg documents.
var errStoreFull = errors.New("example: document limit reached")

// document is one document of an organization.
type document struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// invoice is one invoice of an organization. Invoices are read-only in the
// demo: they exist to show a second resource with its own permissions.
type invoice struct {
	ID       string `json:"id"`
	Customer string `json:"customer"`
	Cents    int64  `json:"amount_cents"`
	Currency string `json:"currency"`
}

// store keeps documents and invoices in memory, per organization id. It is
// safe for concurrent use. It knows nothing of sessions: the guards in front
// of the handlers decide who may reach it, which is the point of the demo.
type store struct {
	now func() time.Time

	mu       sync.Mutex
	next     int
	docs     map[string][]document
	invoices map[string][]invoice
}

func newStore(now func() time.Time) *store {
	return &store{now: now, docs: map[string][]document{}, invoices: map[string][]invoice{}}
}

// list returns a copy of the documents of org, oldest first.
func (s *store) list(org string) []document {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]document{}, s.docs[org]...)
}

// get returns the document id of org. A document of another organization
// is never found, whatever its id.
func (s *store) get(org, id string) (document, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.docs[org] {
		if d.ID == id {
			return d, true
		}
	}
	return document{}, false
}

// create adds a document to org.
func (s *store) create(org, title, createdBy string) (document, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.docs[org]) >= maxDocumentsPerOrg {
		return document{}, errStoreFull
	}
	s.next++
	d := document{ID: "doc-" + strconv.Itoa(s.next), Title: title, CreatedBy: createdBy, CreatedAt: s.now().UTC().Truncate(time.Second)}
	s.docs[org] = append(s.docs[org], d)
	return d, nil
}

// delete removes the document id of org and reports whether it existed. A
// document of another organization is never found, whatever its id.
func (s *store) delete(org, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	docs := s.docs[org]
	for i, d := range docs {
		if d.ID == id {
			s.docs[org] = append(docs[:i:i], docs[i+1:]...)
			return true
		}
	}
	return false
}

// listInvoices returns a copy of the invoices of org.
func (s *store) listInvoices(org string) []invoice {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]invoice{}, s.invoices[org]...)
}

// addInvoice adds an invoice to org (seeding only).
func (s *store) addInvoice(org string, inv invoice) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invoices[org] = append(s.invoices[org], inv)
}
