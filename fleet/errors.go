package fleet

import (
	"errors"
	"time"
)

var (
	// ErrUnavailable matches every error caused by Redis being unreachable,
	// slow, refusing the command, or shut out by the circuit breaker: the
	// errors of [Redis.LoadAuthenticate], [Redis.StoreAuthenticate],
	// [Redis.ForgetSession] and [Redis.Announce] (for Announce also
	// [ErrQueued] or [ErrQueueFull]). The underlying cause stays reachable
	// with errors.Is and errors.As (a context deadline, a net error, a
	// redis.Error reply, gobreaker.ErrOpenState). A cache operation whose
	// caller's context ended returns that context's error instead (wrapped,
	// not matching ErrUnavailable), and does not count against Redis.
	ErrUnavailable = errors.New("fleet: redis unavailable")

	// ErrQueued matches the error of [Redis.Announce] when Redis could not
	// take the announcement at once: it is held in the bounded queue and
	// published as soon as Redis is reachable again. The revocation was
	// delivered to this process's watchers.
	ErrQueued = errors.New("fleet: announcement queued until redis is reachable")

	// ErrQueueFull matches the error of [Redis.Announce] when Redis could not
	// take the announcement and the queue was full: the announcement is
	// dropped (this process's watchers still got it).
	ErrQueueFull = errors.New("fleet: announcement queue full, announcement dropped")

	// ErrNotCurrent matches every error of [Redis.Current]: this process
	// may not have seen every revocation announced by the fleet.
	ErrNotCurrent = errors.New("fleet: not current with the revocation feed")

	// ErrCutOff is the reason of a [StaleError] while the revocation feed
	// cannot be read (Redis down, unreachable, or not answering in time).
	ErrCutOff = errors.New("fleet: cut off from the revocation feed")

	// ErrCatchingUp is the reason of a [StaleError] while the retained log
	// is being replayed, at start or after a cut-off.
	ErrCatchingUp = errors.New("fleet: catching up with the revocation feed")

	// ErrClosed is returned by every method called after [Redis.Close], and
	// is the reason of [Redis.Current]'s error after it.
	ErrClosed = errors.New("fleet: closed")

	// ErrInvalidInput matches the errors returned for arguments that can
	// never succeed: an empty or oversized credential or session id, a
	// non-positive ttl, a response without a member session id.
	ErrInvalidInput = errors.New("fleet: invalid input")
)

// StaleError is the error [Redis.Current] returns while this process is not
// current with the revocation feed. It matches [ErrNotCurrent] and its
// Reason ([ErrCutOff], [ErrCatchingUp] or [ErrClosed]) with errors.Is, and
// unwraps to the last Redis error seen, if any. The value is shared: callers
// must not modify it.
type StaleError struct {
	// Reason is ErrCutOff, ErrCatchingUp or ErrClosed.
	Reason error
	// Since is when this process stopped being current (RedisConfig.Now).
	Since time.Time
	// Err is the Redis error that cut the feed off, or nil.
	Err error
}

// Error describes the state and its cause.
func (e *StaleError) Error() string {
	if e.Err != nil {
		return e.Reason.Error() + ": " + e.Err.Error()
	}
	return e.Reason.Error()
}

// Is reports whether target is ErrNotCurrent or the error's Reason.
func (e *StaleError) Is(target error) bool {
	return target == ErrNotCurrent || target == e.Reason
}

// Unwrap returns the Redis error behind the state, or nil.
func (e *StaleError) Unwrap() error { return e.Err }

// RedisError is the error of an operation that Redis did not complete. It
// matches [ErrUnavailable] and unwraps to the cause. Its text names the
// operation and the cause, never a credential or a session id.
type RedisError struct {
	// Op is the operation: "load", "store", "forget" or "close".
	Op string
	// Err is the cause.
	Err error
}

// Error names the operation and the cause.
func (e *RedisError) Error() string {
	return "fleet: " + e.Op + ": redis unavailable: " + e.Err.Error()
}

// Is reports whether target is ErrUnavailable.
func (e *RedisError) Is(target error) bool { return target == ErrUnavailable }

// Unwrap returns the cause.
func (e *RedisError) Unwrap() error { return e.Err }

// AnnounceError is the error of [Redis.Announce] when Redis could not take
// the announcement. It matches [ErrUnavailable], and [ErrQueued] when the
// announcement waits in the queue or [ErrQueueFull] when it was dropped; it
// unwraps to the Redis error.
type AnnounceError struct {
	// Queued is true when the announcement waits in the queue, false when
	// it was dropped because the queue was full.
	Queued bool
	// Err is the Redis error of the attempt.
	Err error
}

// Error says what became of the announcement and why.
func (e *AnnounceError) Error() string {
	if e.Queued {
		return ErrQueued.Error() + ": " + e.Err.Error()
	}
	return ErrQueueFull.Error() + ": " + e.Err.Error()
}

// Is reports whether target is ErrUnavailable, or ErrQueued or ErrQueueFull
// according to Queued.
func (e *AnnounceError) Is(target error) bool {
	return target == ErrUnavailable || target == ErrQueued && e.Queued || target == ErrQueueFull && !e.Queued
}

// Unwrap returns the Redis error.
func (e *AnnounceError) Unwrap() error { return e.Err }
