package rbac

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/singleflight"

	"github.com/stytchguard/stytchguard/client"
)

// Defaults of Config, used for its zero fields.
const (
	// DefaultRefreshInterval is the default Config.RefreshInterval.
	DefaultRefreshInterval = 5 * time.Minute
	// DefaultMaxStaleness is the default Config.MaxStaleness.
	DefaultMaxStaleness = time.Hour
	// DefaultMaxOrganizations is the default Config.MaxOrganizations.
	DefaultMaxOrganizations = 1000
	// DefaultFetchTimeout is the default Config.FetchTimeout.
	DefaultFetchTimeout = 5 * time.Second
	// DefaultRetryInterval is the default Config.RetryInterval.
	DefaultRetryInterval = time.Second
)

// retryAfter is the wait Stytch asked for with a 429 or 503, if any.
func retryAfter(err error) time.Duration {
	d, _ := client.RetryAfter(err)
	return d
}

// refreshConcurrency bounds the fetches one refresh round runs at once.
const refreshConcurrency = 4

// maxBackoffShift caps the exponent of the retry backoff.
const maxBackoffShift = 16

// Config configures a Cache. Every zero value selects the documented default.
type Config struct {
	// Client fetches the policies. Required.
	Client *client.Client

	// RefreshInterval is how often policies that were used are fetched again
	// in the background. Zero means DefaultRefreshInterval (5 minutes).
	RefreshInterval time.Duration

	// MaxStaleness is the age (since the last successful fetch) after which
	// a policy is no longer used while refreshes keep failing: checks then
	// fail with ErrPolicyUnavailable, never allow. Zero means
	// DefaultMaxStaleness (1 hour).
	MaxStaleness time.Duration

	// MaxOrganizations bounds the number of organization policies kept. To
	// make room, the organizations least likely to be used again are
	// evicted, judged by how recently and how often they were used
	// (W-TinyLFU, github.com/maypok86/otter): a burst of organizations used
	// once does not push out those in steady use. Admitting an organization
	// costs the same at any size. Zero means DefaultMaxOrganizations (1000).
	MaxOrganizations int

	// FetchTimeout bounds each policy fetch. Zero means DefaultFetchTimeout
	// (5 seconds).
	FetchTimeout time.Duration

	// RetryInterval is the delay after a failed fetch before the same policy
	// is fetched again on demand; it doubles with each consecutive failure,
	// up to RefreshInterval. Meanwhile checks that have no usable policy fail
	// at once with ErrPolicyUnavailable. Zero means DefaultRetryInterval
	// (1 second).
	RetryInterval time.Duration

	// Now returns the current time; ages and staleness are measured with it.
	// Nil means time.Now.
	Now func() time.Time

	// Logger receives fetch failures and recoveries (organization ids, never
	// credentials). Nil means no logging.
	Logger *slog.Logger

	// TracerProvider creates the tracer of the policy fetches, named
	// "github.com/stytchguard/stytchguard/rbac". A fetch runs in a span
	// named FetchSpanName, a child of the span of the request that needed
	// it (even when the fetch outlives the request, and however many
	// requests wait for it); a background refresh round starts root spans.
	// Nil means otel.GetTracerProvider().
	TracerProvider trace.TracerProvider

	// MeterProvider creates the meter, of the same name, of the
	// MetricPolicyAge gauge and the MetricPolicyFetches counter. Nil means
	// otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
}

// Cache keeps the project policy and the policies of the organizations in
// use, fetched through the client lazily on first use and refreshed in the
// background, and answers authorization checks with them. One fetch per
// policy is in flight at a time however many callers need it. When a fetch
// fails the previous policy keeps serving until it is older than
// MaxStaleness; after that, and before the first successful fetch, checks
// fail with ErrPolicyUnavailable.
//
// A Cache is safe for concurrent use. Close stops its goroutines.
type Cache struct {
	client          *client.Client
	refreshInterval time.Duration
	maxStaleness    time.Duration
	maxOrgs         int
	fetchTimeout    time.Duration
	retryInterval   time.Duration
	now             func() time.Time
	log             *slog.Logger
	tel             *telemetry

	project *entry

	// orgs holds the organizations' entries, bounded by MaxOrganizations:
	// entries are added on first use of an organization and removed by its
	// eviction policy. lookup maps the same organization ids to the same
	// entries for the hit path, where a sync.Map load costs a fraction of an
	// otter read; orgs learns of the uses from orgEntry, at most once per
	// organization and recordUseInterval. An entry is
	// stored in lookup under orgs' lock of its key when orgs admits it, and
	// deleted under the same lock when orgs evicts it, so lookup holds
	// exactly the entries orgs holds.
	orgs   *otter.Cache[string, *entry]
	lookup sync.Map // string -> *entry

	sf singleflight.Group

	ctx    context.Context // cancelled by Close; parent of every fetch
	cancel context.CancelFunc

	life   sync.Mutex // guards closed and every wg.Add
	closed bool
	wg     sync.WaitGroup
}

// entry is one cached policy: the project's (orgID empty) or an
// organization's.
type entry struct {
	key   string // singleflight key: "project" or "org:<id>"
	orgID string

	state atomic.Pointer[entryState]
	// index is the last Index built from the project policy and this
	// organization's policy, reused while neither changed.
	index atomic.Pointer[Index]

	used       atomic.Bool  // used since the last background refresh round
	refreshing atomic.Bool  // an asynchronous refresh is running
	recorded   atomic.Int64 // UnixNano of the last use reported to Cache.orgs
}

// entryState is an immutable snapshot of an entry.
type entryState struct {
	policy      *compiled // nil until a fetch succeeds
	fetchedAt   time.Time // of policy
	nextAttempt time.Time // when a fetch is next due
	failures    int       // consecutive failed fetches
	err         error     // last fetch error, nil after a success
}

func newEntry(key, orgID string) *entry {
	e := &entry{key: key, orgID: orgID}
	e.state.Store(&entryState{})
	return e
}

// New validates cfg and returns a Cache with its background refresher
// running. Nothing is fetched until the first check. New fails when
// cfg.Client is nil or a duration or MaxOrganizations is negative.
func New(cfg Config) (*Cache, error) {
	if cfg.Client == nil {
		return nil, errors.New("rbac: Config.Client is required")
	}
	if cfg.RefreshInterval < 0 || cfg.MaxStaleness < 0 || cfg.FetchTimeout < 0 || cfg.RetryInterval < 0 {
		return nil, errors.New("rbac: negative duration in Config")
	}
	if cfg.MaxOrganizations < 0 {
		return nil, errors.New("rbac: negative Config.MaxOrganizations")
	}
	c := &Cache{
		client:          cfg.Client,
		refreshInterval: cmp.Or(cfg.RefreshInterval, DefaultRefreshInterval),
		maxStaleness:    cmp.Or(cfg.MaxStaleness, DefaultMaxStaleness),
		maxOrgs:         cfg.MaxOrganizations,
		fetchTimeout:    cmp.Or(cfg.FetchTimeout, DefaultFetchTimeout),
		retryInterval:   cmp.Or(cfg.RetryInterval, DefaultRetryInterval),
		now:             cfg.Now,
		log:             cfg.Logger,
		project:         newEntry("project", ""),
	}
	c.maxOrgs = cmp.Or(c.maxOrgs, DefaultMaxOrganizations)
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	orgs, err := otter.New(&otter.Options[string, *entry]{
		MaximumSize: c.maxOrgs,
		// Eviction runs on the goroutine that admits an organization (or,
		// now and then, on one that records a use): the cache starts no
		// goroutine of its own for Close to stop.
		Executor: func(fn func()) { fn() },
		OnAtomicDeletion: func(ev otter.DeletionEvent[string, *entry]) {
			c.lookup.CompareAndDelete(ev.Key, ev.Value)
		},
		Logger: otterLogger{c.log},
	})
	if err != nil {
		return nil, fmt.Errorf("rbac: organization cache: %w", err)
	}
	c.orgs = orgs
	c.tel = newTelemetry(cfg, c)
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(1)
	go c.loop()
	return c, nil
}

// Authorize decides check for session: the subject is session.OrganizationID
// with session.Roles, evaluated as Index.Verdict does against the project
// policy plus the policy of check.OrganizationID. It is the authorizer hook
// of local session verification.
//
// A nil check returns (nil, nil). Tenancy is decided before any policy is
// needed. Refusals are *AuthorizationError (ErrForbidden); a nil session is
// refused as having no organization (tenancy) and no roles. When no usable policy exists the error wraps
// ErrPolicyUnavailable and no decision was made: the caller should ask the
// Stytch API instead.
func (c *Cache) Authorize(ctx context.Context, session *client.MemberSession, check *client.AuthorizationCheck) (*client.AuthorizationVerdict, error) {
	if check == nil {
		return nil, nil
	}
	if session == nil {
		// No subject: no organization (tenancy is decided first, as in
		// the reference) and no roles.
		session = &client.MemberSession{}
	}
	if session.OrganizationID != check.OrganizationID {
		return nil, newAuthorizationError(client.ErrorTypeTenancy, session.OrganizationID, check)
	}
	ix, err := c.Index(ctx, check.OrganizationID)
	if err != nil {
		return nil, err
	}
	return ix.Verdict(session.OrganizationID, session.Roles, check)
}

// Index returns the compiled project policy plus the policy of organization
// organizationID. A policy not cached yet, or older than MaxStaleness, is
// fetched before Index returns (one fetch per policy however many callers
// wait; ctx bounds the wait, not the shared fetch). A cached policy due for
// refresh is returned at once and refreshed in the background.
//
// The error matches ErrPolicyUnavailable (and so client.ErrUnavailable), and
// the categories of the cause, when no usable policy exists: the fetch failed
// (or failed recently and is not retried yet), ctx ended, the Cache is closed
// (ErrClosed) or organizationID is empty. It never matches ErrForbidden,
// client.ErrForbidden or client.ErrSessionInvalid, even when a policy
// endpoint answered 403 or 401.
func (c *Cache) Index(ctx context.Context, organizationID string) (*Index, error) {
	return c.IndexAt(ctx, organizationID, time.Time{})
}

// IndexAt is Index at a time the caller has just read from the Cache's clock
// (Config.Now), for a hot path that needs the time for other checks too and
// would otherwise read the clock twice. The zero Time reads the clock.
func (c *Cache) IndexAt(ctx context.Context, organizationID string, now time.Time) (*Index, error) {
	if organizationID == "" {
		return nil, &unavailableError{policy: "organization policy", cause: errors.New("empty organization id")}
	}
	if now.IsZero() {
		now = c.now()
	}
	oe := c.orgEntry(organizationID, now.UnixNano())
	// Both fetches, when needed, run at once.
	pst, project, pch, err := c.begin(ctx, c.project, now)
	if err != nil {
		return nil, err
	}
	ost, org, och, err := c.begin(ctx, oe, now)
	if err != nil {
		return nil, err
	}
	if pch != nil {
		if project, err = c.finish(ctx, c.project, pst, pch); err != nil {
			return nil, err
		}
	}
	if och != nil {
		if org, err = c.finish(ctx, oe, ost, och); err != nil {
			return nil, err
		}
	}
	if ix := oe.index.Load(); ix != nil && ix.project == project && ix.org == org {
		return ix, nil
	}
	ix := &Index{project: project, org: org}
	oe.index.Store(ix)
	return ix, nil
}

// recordUseInterval is how often, at most, the uses of one organization are
// reported to the eviction policy: often enough to rank organizations by
// recency and frequency, rarely enough to keep its cost off the hit path.
const recordUseInterval = int64(time.Millisecond)

// orgEntry returns the entry of organizationID, used at now (UnixNano),
// creating it on first use; admitting it may evict another organization.
func (c *Cache) orgEntry(organizationID string, now int64) *entry {
	if x, ok := c.lookup.Load(organizationID); ok {
		e := x.(*entry)
		if now-e.recorded.Load() >= recordUseInterval {
			e.recorded.Store(now)
			c.orgs.GetIfPresent(organizationID) // records the use
		}
		return e
	}
	e, _ := c.orgs.ComputeIfAbsent(organizationID, func() (*entry, bool) {
		e := newEntry("org:"+organizationID, organizationID)
		e.recorded.Store(now)
		c.lookup.Store(organizationID, e)
		return e, false
	})
	return e
}

// otterLogger hands what the organization cache reports (a panic in its
// maintenance, never a policy) to the Cache's logger.
type otterLogger struct{ log *slog.Logger }

func (l otterLogger) Warn(ctx context.Context, msg string, err error) {
	l.log.WarnContext(ctx, "rbac: organization cache: "+msg, "error", err)
}

func (l otterLogger) Error(ctx context.Context, msg string, err error) {
	l.log.ErrorContext(ctx, "rbac: organization cache: "+msg, "error", err)
}

// begin returns e's policy when it is usable at now, starting a background
// refresh when one is due. When e has no usable policy it starts (or joins)
// the fetch of e and returns the channel to wait on with finish, unless a
// recent failure is remembered: then it returns that failure.
//
// A fetch begin starts is a child of ctx's span and keeps ctx's values, but
// not its cancellation: other callers may wait for it.
func (c *Cache) begin(ctx context.Context, e *entry, now time.Time) (*entryState, *compiled, <-chan singleflight.Result, error) {
	if !e.used.Load() {
		e.used.Store(true)
	}
	st := e.state.Load()
	if st.policy != nil && now.Sub(st.fetchedAt) <= c.maxStaleness {
		if !now.Before(st.nextAttempt) {
			c.refreshAsync(ctx, e)
		}
		return st, st.policy, nil, nil
	}
	if st.err != nil && now.Before(st.nextAttempt) {
		return st, nil, nil, c.unavailable(e, st.err)
	}
	return st, nil, c.sf.DoChan(e.key, func() (any, error) { return c.fetch(ctx, e) }), nil
}

// finish waits for the fetch begin started for e, whose state was st.
func (c *Cache) finish(ctx context.Context, e *entry, st *entryState, ch <-chan singleflight.Result) (*compiled, error) {
	select {
	case r := <-ch:
		f, _ := r.Val.(fetched)
		linkFetch(ctx, f)
		out := f.st
		adopt(e, st, out, r.Err)
		if r.Err != nil {
			return nil, c.unavailable(e, r.Err)
		}
		return out.policy, nil
	case <-ctx.Done():
		return nil, c.unavailable(e, ctx.Err())
	}
}

// adopt records in e, whose state was st when it joined a shared fetch, the
// fetch's outcome out (nil when there is none to record). The fetch may have
// run for another entry of the same policy, one evicted and created again
// meanwhile, which fetch updated itself: a success is adopted whole (it is
// newer than anything e holds); a failure keeps e's own policy and counts
// against e, with the fetch's retry delay, for the failed state carries the
// other entry's policy, which may be older than e's. Nothing is recorded
// when e's state moved on since st.
func adopt(e *entry, st, out *entryState, err error) {
	if out == nil {
		return
	}
	if err != nil {
		out = &entryState{
			policy:      st.policy,
			fetchedAt:   st.fetchedAt,
			nextAttempt: out.nextAttempt,
			failures:    st.failures + 1,
			err:         out.err,
		}
	}
	e.state.CompareAndSwap(st, out)
}

func (c *Cache) unavailable(e *entry, cause error) error {
	if e.orgID == "" {
		return &unavailableError{policy: "project policy", cause: cause}
	}
	return &unavailableError{policy: "policy of organization " + quoteField(e.orgID), cause: cause}
}

// unavailableError is the ErrPolicyUnavailable error of one policy. It
// matches ErrPolicyUnavailable and client.ErrUnavailable always, and the
// categories of its cause (context.DeadlineExceeded, ErrClosed,
// client.ErrUnauthorizedCredentials...) except those about the member: a 403
// answered by a policy endpoint refuses the fetch, not the member, and must
// not read as a denial of the check; a 401 says nothing about a session the
// fetch never carried.
type unavailableError struct {
	policy string
	cause  error
}

func (e *unavailableError) Error() string {
	return "rbac: policy unavailable: " + e.policy + ": " + e.cause.Error()
}

func (e *unavailableError) Is(target error) bool {
	switch target {
	case ErrForbidden, ErrTenancy, ErrPermissionDenied, client.ErrForbidden, client.ErrTenancy, client.ErrSessionInvalid:
		return false
	}
	return errors.Is(ErrPolicyUnavailable, target) || errors.Is(e.cause, target)
}

func (e *unavailableError) As(target any) bool { return errors.As(e.cause, target) }

// enter registers a goroutine or fetch with Close; it reports false once the
// Cache is closed.
func (c *Cache) enter() bool {
	c.life.Lock()
	defer c.life.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	return true
}

// fetch fetches and compiles e's policy, records the outcome in e and
// returns it with the fetch's span, with the error when the fetch failed.
// Callers share it through c.sf. trigger is the context of the caller that started it: the fetch is a
// child of its span and keeps its values, but not its cancellation (others
// may wait for the fetch); it ends at FetchTimeout or at Close.
func (c *Cache) fetch(trigger context.Context, e *entry) (fetched, error) {
	f := fetched{parent: trace.SpanFromContext(trigger).SpanContext().SpanID()}
	if !c.enter() {
		return f, ErrClosed
	}
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(trigger), c.fetchTimeout)
	defer cancel()
	stop := context.AfterFunc(c.ctx, cancel)
	defer stop()
	ctx, span := c.tel.startFetch(ctx, e.orgID)
	f.span = span.SpanContext()

	var policy *compiled
	var err error
	if e.orgID == "" {
		var resp *client.PolicyResponse
		// client.RBAC.Policy fails on an answer without a policy.
		if resp, err = c.client.RBAC.Policy(ctx); err == nil {
			policy = compileRoles(resp.Policy.Roles)
		}
	} else {
		var resp *client.OrgPolicyResponse
		// client.RBAC.OrgPolicy reads an absent org_policy as no custom
		// roles: organization roles only add grants.
		if resp, err = c.client.RBAC.OrgPolicy(ctx, e.orgID); err == nil {
			policy = compileRoles(resp.OrgPolicy.Roles)
		}
	}

	now := c.now()
	old := e.state.Load()
	if err != nil {
		if c.ctx.Err() != nil {
			c.tel.endFetch(ctx, span, ErrClosed, false)
			return f, ErrClosed
		}
		failures := old.failures + 1
		failed := &entryState{
			policy:      old.policy,
			fetchedAt:   old.fetchedAt,
			nextAttempt: now.Add(max(c.backoff(failures), retryAfter(err))),
			failures:    failures,
			err:         err,
		}
		e.state.Store(failed)
		c.tel.endFetch(ctx, span, err, true)
		c.log.Warn("rbac: policy fetch failed", "policy", e.key, "failures", failures,
			"have_policy", old.policy != nil, "error", err)
		f.st = failed
		return f, err
	}
	st := &entryState{policy: policy, fetchedAt: now, nextAttempt: now.Add(c.refreshInterval)}
	e.state.Store(st)
	c.tel.endFetch(ctx, span, nil, true)
	if old.failures > 0 {
		c.log.Info("rbac: policy fetch recovered", "policy", e.key, "failures", old.failures)
	}
	f.st = st
	return f, nil
}

// fetched is what a shared fetch hands every caller that waited on it: the
// outcome, the fetch's span and the span of the caller that started it.
type fetched struct {
	st     *entryState
	span   trace.SpanContext
	parent trace.SpanID
}

// linkFetch links the span of ctx to the shared fetch f it waited on. It
// does nothing for the caller that started the fetch (its span is the
// fetch's parent already) or when ctx's span is not recording.
func linkFetch(ctx context.Context, f fetched) {
	if !f.span.IsValid() {
		return
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() && span.SpanContext().SpanID() != f.parent {
		span.AddLink(trace.Link{SpanContext: f.span, Attributes: []attribute.KeyValue{attrLink.String("coalesced policy fetch")}})
	}
}

// backoff is the delay before the next fetch after failures consecutive
// failures.
func (c *Cache) backoff(failures int) time.Duration {
	shift := min(failures-1, maxBackoffShift)
	d := c.retryInterval << shift
	if d <= 0 || d > c.refreshInterval {
		d = c.refreshInterval
	}
	return d
}

// refreshAsync starts a background refresh of e unless one is running; ctx
// is the context of the caller that found e due, as for begin.
func (c *Cache) refreshAsync(ctx context.Context, e *entry) {
	if !e.refreshing.CompareAndSwap(false, true) {
		return
	}
	if !c.enter() {
		e.refreshing.Store(false)
		return
	}
	go func() {
		defer c.wg.Done()
		defer e.refreshing.Store(false)
		_ = c.refreshEntry(ctx, e)
	}()
}

// refreshEntry fetches e now, sharing a fetch already in flight; a fetch it
// starts is a child of ctx's span, as for begin.
func (c *Cache) refreshEntry(ctx context.Context, e *entry) error {
	st := e.state.Load()
	v, err, _ := c.sf.Do(e.key, func() (any, error) { return c.fetch(ctx, e) })
	f, _ := v.(fetched)
	linkFetch(ctx, f)
	adopt(e, st, f.st, err)
	if err != nil {
		return c.unavailable(e, err)
	}
	return nil
}

// Refresh fetches, now, the project's policy (also when it was never
// fetched, which makes a readiness probe useful before any traffic) and
// again every organization policy the Cache holds, ignoring any retry
// delay, and
// waits for the fetches. It returns the failures joined (each wrapping
// ErrPolicyUnavailable); a failed refresh keeps the previous policy in use
// until it is older than MaxStaleness.
func (c *Cache) Refresh(ctx context.Context) error {
	return c.refreshRound(ctx, false)
}

// loop refreshes the policies used since the previous round every
// RefreshInterval until Close.
func (c *Cache) loop() {
	defer c.wg.Done()
	t := time.NewTicker(c.refreshInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			_ = c.refreshRound(c.ctx, true)
		}
	}
}

// refreshRound refreshes the cached policies: all of them, or with onlyUsed
// those used since the previous such round whose policy is not recent.
func (c *Cache) refreshRound(ctx context.Context, onlyUsed bool) error {
	entries := make([]*entry, 0, c.orgs.EstimatedSize()+1)
	entries = append(entries, c.project)
	for e := range c.orgs.Values() {
		entries = append(entries, e)
	}

	now := c.now()
	todo := entries[:0]
	for _, e := range entries {
		st := e.state.Load()
		if onlyUsed {
			if !e.used.Swap(false) {
				continue
			}
			if st.policy != nil && st.err == nil && now.Sub(st.fetchedAt) < c.refreshInterval/2 {
				continue // refreshed on demand moments ago
			}
		} else if st.policy == nil && st.err == nil && e != c.project {
			continue // an organization never used: nothing to refresh
		}
		todo = append(todo, e)
	}

	var (
		errMu sync.Mutex
		errs  []error
		wg    sync.WaitGroup
		sem   = make(chan struct{}, refreshConcurrency)
	)
	for _, e := range todo {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return errors.Join(append(errs, c.unavailable(e, ctx.Err()))...)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := c.refreshEntry(ctx, e); err != nil {
				errMu.Lock()
				errs = append(errs, err)
				errMu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close stops the background refresher and the observation of the policy
// age, and waits for running fetches, which it cancels. Policies already cached stay usable until they are older than
// MaxStaleness; fetches are no longer made (ErrClosed). Close is idempotent
// and always returns nil.
func (c *Cache) Close() error {
	c.life.Lock()
	if c.closed {
		c.life.Unlock()
		return nil
	}
	c.closed = true
	c.life.Unlock()
	c.cancel()
	c.wg.Wait()
	c.tel.close()
	return nil
}

// ProjectID returns the project whose policies c fetches.
func (c *Cache) ProjectID() string { return c.client.ProjectID() }
