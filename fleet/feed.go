package fleet

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Stream entry fields: the session id and the end of the revocation, in
// Unix milliseconds.
const (
	fieldSession = "sid"
	fieldUntil   = "until"
)

const (
	// readCount is the most entries one read of the feed returns.
	readCount = 512
	// flushBatch is the most queued announcements one pipeline publishes.
	flushBatch = 128
	// Backoff between reconnection attempts, doubled from min to max, with
	// jitter.
	minBackoff = 50 * time.Millisecond
	maxBackoff = 500 * time.Millisecond
)

// MaxSessionIDLength is the longest session id [Redis.Announce],
// [Redis.StoreAuthenticate] and [Redis.ForgetSession] accept, and the
// longest read from the stream. Stytch's member session ids are about 60
// bytes.
const MaxSessionIDLength = 256

// errNoAnswer is the cause of a cut-off when a read of the feed got no
// answer in time.
var errNoAnswer = errors.New("no answer within the read deadline")

type watcher struct {
	fn      func(sessionID string, until time.Time)
	stopped atomic.Bool
}

type announcement struct {
	seq       uint64
	sessionID string
	until     time.Time
}

// validSessionID reports whether id can be a session id: 1 to
// MaxSessionIDLength printable ASCII bytes without spaces.
func validSessionID(id string) bool {
	if id == "" || len(id) > MaxSessionIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

func invalidSessionID() error {
	return &inputError{"session id must be 1 to " + strconv.Itoa(MaxSessionIDLength) + " printable ASCII characters"}
}

// inputError is an ErrInvalidInput with its reason.
type inputError struct{ reason string }

func (e *inputError) Error() string        { return "fleet: invalid input: " + e.reason }
func (e *inputError) Is(target error) bool { return target == ErrInvalidInput }

// Announce publishes that sessionID is revoked, to be remembered by every
// replica until `until`: the time after which no JWT minted before the
// revocation can still be valid. It first delivers the revocation to this
// process's watchers (so other guards sharing this Redis refuse the session
// at once), then adds it to the stream within OpTimeout (and ctx).
//
// It returns nil once Redis has the entry. When Redis cannot take it, or
// is known to be unreachable (Current reports ErrCutOff; Announce then does
// not wait), the announcement is queued (at most MaxQueue of them) and
// published by a background goroutine as soon as Redis answers again; the
// error then matches [ErrQueued], or [ErrQueueFull] when the queue was full
// and the announcement was dropped, and unwraps to the Redis error (or the
// *StaleError). An `until`
// that is not after now announces nothing and returns nil: no JWT of the
// session can still be valid. An invalid session id returns an error
// matching [ErrInvalidInput]; after Close, [ErrClosed].
func (r *Redis) Announce(ctx context.Context, sessionID string, until time.Time) error {
	if !validSessionID(sessionID) {
		return invalidSessionID()
	}
	if r.closed.Load() {
		return ErrClosed
	}
	if !until.After(r.now()) {
		return nil
	}
	r.dmu.Lock()
	r.deliverLocked(sessionID, until)
	r.dmu.Unlock()

	// Redis known to be unreachable: queue without making the caller wait
	// for a connection that will fail. The reader's reconnection triggers
	// the publication.
	if st := r.stale.Load(); st != nil && st.Reason == ErrCutOff {
		return r.enqueue(sessionID, until, st)
	}
	_, err := call(r, ctx, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, r.c.XAdd(ctx, r.xaddArgs(sessionID, until)).Err()
	})
	if err == nil {
		return nil
	}
	return r.enqueue(sessionID, until, err)
}

// xaddArgs is one stream entry; adding it trims the entries older than
// Retention (approximately, which Redis does cheaply).
func (r *Redis) xaddArgs(sessionID string, until time.Time) *redis.XAddArgs {
	// Round up to the millisecond: a revocation may end late, never early.
	ms := until.Add(time.Millisecond - 1).UnixMilli()
	return &redis.XAddArgs{
		Stream: r.stream,
		MinID:  strconv.FormatInt(time.Now().Add(-r.retention).UnixMilli(), 10),
		Approx: true,
		Values: []string{fieldSession, sessionID, fieldUntil, strconv.FormatInt(ms, 10)},
	}
}

func (r *Redis) enqueue(sessionID string, until time.Time, cause error) error {
	r.qmu.Lock()
	if r.closed.Load() {
		// Closed meanwhile: nothing would publish it.
		r.qmu.Unlock()
		return ErrClosed
	}
	if len(r.queue) >= r.maxQueue {
		now := r.now()
		r.queue = slices.DeleteFunc(r.queue, func(a announcement) bool { return !a.until.After(now) })
	}
	if len(r.queue) >= r.maxQueue {
		r.qmu.Unlock()
		r.log.Error("fleet: revocation announcement dropped: queue full", "max_queue", r.maxQueue, "err", cause)
		return &AnnounceError{Queued: false, Err: cause}
	}
	r.qseq++
	r.queue = append(r.queue, announcement{seq: r.qseq, sessionID: sessionID, until: until})
	n := len(r.queue)
	r.qmu.Unlock()
	r.kickFlusher()
	r.log.Warn("fleet: revocation announcement queued until redis is reachable", "queued", n, "err", cause)
	return &AnnounceError{Queued: true, Err: cause}
}

func (r *Redis) queueLen() int {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	return len(r.queue)
}

func (r *Redis) kickFlusher() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// flushLoop publishes queued announcements when kicked (by enqueue, or by
// the reader when Redis answers again) and retries with backoff while the
// queue is not empty.
func (r *Redis) flushLoop() {
	defer close(r.flushDone)
	backoff := minBackoff
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		select {
		case <-r.base.Done():
			return
		case <-r.kick:
		case <-retry.C:
		}
		if r.queueLen() == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(r.base, r.opTimeout)
		err := r.flush(ctx)
		cancel()
		switch {
		case err == nil && r.queueLen() == 0:
			backoff = minBackoff
		case err == nil:
			retry.Reset(0) // more than one batch
		default:
			retry.Reset(jitter(backoff))
			backoff = min(2*backoff, maxBackoff)
		}
	}
}

// flush publishes up to flushBatch queued announcements in one pipeline and
// removes from the queue those Redis took, and those no longer needed.
func (r *Redis) flush(ctx context.Context) error {
	now := r.now()
	r.qmu.Lock()
	r.queue = slices.DeleteFunc(r.queue, func(a announcement) bool { return !a.until.After(now) })
	batch := slices.Clone(r.queue[:min(len(r.queue), flushBatch)])
	r.qmu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	cmds, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, a := range batch {
			p.XAdd(ctx, r.xaddArgs(a.sessionID, a.until))
		}
		return nil
	})
	var done []uint64
	for i, c := range cmds {
		if i < len(batch) && c.Err() == nil {
			done = append(done, batch[i].seq)
		}
	}
	if len(done) > 0 {
		r.qmu.Lock()
		r.queue = slices.DeleteFunc(r.queue, func(a announcement) bool { return slices.Contains(done, a.seq) })
		left := len(r.queue)
		r.qmu.Unlock()
		r.log.Info("fleet: queued revocation announcements published", "published", len(done), "queued", left)
	}
	return err
}

// Watch calls fn for every revocation announced by any replica, this
// process included: first, before Watch returns, for each revocation still
// in force that this process knows of (replayed from the retained stream at
// start, or received since), then for each new one as it arrives, including
// those announced while this process was cut off from Redis (read on
// reconnection from the last entry seen). Entries whose `until` has passed
// are not delivered.
//
// Calls to fn are serialized, made from the feed's goroutine or from
// Announce's caller, and may repeat a session (fn must be idempotent). fn
// must be cheap and must not call Watch, Announce or Close; it may call the
// stop function. The returned stop function unsubscribes fn: no call starts
// after it returns, except one already under way on another goroutine. It
// is idempotent. After Close, fn is never called.
func (r *Redis) Watch(fn func(sessionID string, until time.Time)) (stop func()) {
	if fn == nil || r.closed.Load() {
		return func() {}
	}
	w := &watcher{fn: fn}
	r.dmu.Lock()
	r.wmu.Lock()
	ws := append(slices.Clone(r.watchersList()), w)
	r.watchers.Store(&ws)
	r.wmu.Unlock()
	now := r.now()
	for id, until := range r.active {
		if until.After(now) {
			fn(id, until)
		}
	}
	r.dmu.Unlock()
	return func() {
		if w.stopped.Swap(true) {
			return
		}
		r.wmu.Lock()
		ws := slices.DeleteFunc(slices.Clone(r.watchersList()), func(x *watcher) bool { return x == w })
		r.watchers.Store(&ws)
		r.wmu.Unlock()
	}
}

func (r *Redis) watchersList() []*watcher {
	if p := r.watchers.Load(); p != nil {
		return *p
	}
	return nil
}

// deliverLocked records a revocation in force and hands it to the watchers;
// the caller holds dmu.
func (r *Redis) deliverLocked(sessionID string, until time.Time) {
	if prev, ok := r.active[sessionID]; !ok || until.After(prev) {
		r.active[sessionID] = until
	}
	for _, w := range r.watchersList() {
		if !w.stopped.Load() && !r.closed.Load() {
			w.fn(sessionID, until)
		}
	}
}

// pruneLocked forgets the revocations whose end has passed, at most once per
// Block; the caller holds dmu.
func (r *Redis) pruneLocked(now time.Time) {
	if now.Before(r.nextPrune) {
		return
	}
	r.nextPrune = now.Add(r.block)
	for id, until := range r.active {
		if !until.After(now) {
			delete(r.active, id)
		}
	}
}

// Current returns nil when this process has read the revocation feed up to
// its end, and a shared *StaleError (matching [ErrNotCurrent]) when it may
// have missed some: at start until the retained log is replayed
// ([ErrCatchingUp]), while Redis is unreachable or does not answer a read
// within Block plus one second ([ErrCutOff]), and after Close
// ([ErrClosed]). It is one atomic load and allocates nothing.
func (r *Redis) Current() error {
	if e := r.stale.Load(); e != nil {
		return e
	}
	return nil
}

// readLoop replays the stream from its start, then follows it with
// blocking reads from the last entry seen; after an error it reconnects
// with backoff and resumes from that entry, so nothing retained is missed.
func (r *Redis) readLoop() {
	defer close(r.readerDone)
	last := "0-0"
	backoff := minBackoff
	args := &redis.XReadArgs{Streams: []string{r.stream, ""}, Count: readCount, Block: r.block}
	for r.base.Err() == nil {
		args.Streams[1] = last
		// Behind (at start, after a cut-off), read without blocking, so
		// that an empty answer means current at once.
		args.Block = r.block
		if r.stale.Load() != nil {
			args.Block = -1
		}
		r.smu.Lock()
		r.gen++
		gen := r.gen
		r.smu.Unlock()
		// The watchdog notices a read that hangs even with a client that
		// does not honour deadlines.
		watchdog := time.AfterFunc(r.block+readGrace, func() {
			r.smu.Lock()
			if r.gen == gen {
				r.cutOffLocked(errNoAnswer)
			}
			r.smu.Unlock()
		})
		ctx, cancel := context.WithTimeout(r.base, r.block+readGrace)
		streams, err := r.c.XRead(ctx, args).Result()
		cancel()
		watchdog.Stop()
		if r.base.Err() != nil {
			return
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			r.smu.Lock()
			r.gen++
			r.cutOffLocked(err)
			r.smu.Unlock()
			t := time.NewTimer(jitter(backoff))
			select {
			case <-r.base.Done():
				t.Stop()
				return
			case <-t.C:
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = minBackoff
		n := 0
		r.dmu.Lock()
		now := r.now()
		r.pruneLocked(now)
		bad := 0
		for _, s := range streams {
			for _, m := range s.Messages {
				n++
				last = m.ID
				id, until, ok := parseEntry(m.Values)
				if !ok {
					bad++
					continue
				}
				if until.After(now) {
					r.deliverLocked(id, until)
				}
			}
		}
		r.dmu.Unlock()
		if bad > 0 {
			r.log.Warn("fleet: malformed revocation stream entries skipped", "count", bad)
		}
		r.smu.Lock()
		r.gen++
		if n < readCount {
			r.currentLocked()
		} else {
			r.catchingUpLocked()
		}
		r.smu.Unlock()
	}
}

func parseEntry(v map[string]any) (string, time.Time, bool) {
	id, _ := v[fieldSession].(string)
	u, _ := v[fieldUntil].(string)
	ms, err := strconv.ParseInt(u, 10, 64)
	if !validSessionID(id) || err != nil || ms <= 0 {
		return "", time.Time{}, false
	}
	return id, time.UnixMilli(ms), true
}

// currentLocked, catchingUpLocked and cutOffLocked change the feed state;
// the caller holds smu.
func (r *Redis) currentLocked() {
	prev := r.stale.Load()
	if prev == nil || r.closed.Load() {
		return
	}
	r.stale.Store(nil)
	if prev.Reason != ErrCatchingUp || prev.Err != nil {
		r.log.Info("fleet: current with the revocation feed again", "after", r.now().Sub(prev.Since).String())
	}
	r.kickFlusher()
}

func (r *Redis) catchingUpLocked() {
	prev := r.stale.Load()
	if prev == nil || prev.Reason != ErrCutOff || r.closed.Load() {
		// A burst larger than one read while current is read at once.
		return
	}
	r.stale.Store(&StaleError{Reason: ErrCatchingUp, Since: prev.Since, Err: prev.Err})
	r.kickFlusher()
}

func (r *Redis) cutOffLocked(err error) {
	prev := r.stale.Load()
	if r.closed.Load() {
		return
	}
	since := r.now()
	if prev != nil {
		since = prev.Since
	}
	r.stale.Store(&StaleError{Reason: ErrCutOff, Since: since, Err: err})
	if prev == nil || prev.Reason != ErrCutOff {
		r.log.Warn("fleet: cut off from the revocation feed", "err", err)
	}
}

// jitter returns d plus or minus up to a fifth.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(d)/5*2+1)) - d/5
}
