package fleet_test

import (
	"context"
	"errors"
	"log"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stytchguard/stytchguard/fleet"
)

// Example shows the feed as the middleware uses it: every replica watches
// for revocations, and the replica that handles a logout announces it.
// (Not run: it needs a Redis at localhost.)
func Example() {
	f, err := fleet.NewRedis(fleet.RedisConfig{
		URL:       "redis://localhost:6379/0",
		ProjectID: "project-live-0123",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()

	var revoked sync.Map // session id -> until
	stop := f.Watch(func(sessionID string, until time.Time) { revoked.Store(sessionID, until) })
	defer stop()

	// On logout, after revoking the session at Stytch: refuse it until no
	// JWT minted before now can be valid (5 min lifetime + leeway).
	err = f.Announce(context.Background(), "member-session-live-0123", time.Now().Add(5*time.Minute+5*time.Second))
	switch {
	case errors.Is(err, fleet.ErrQueued):
		log.Print("revocation queued: Redis is unreachable; it will be published on reconnection")
	case err != nil:
		log.Print(err)
	}

	// On the hit path: a replica that is not current trusts JWTs less.
	if err := f.Current(); err != nil {
		log.Print(err)
	}
}

// ExampleRedisConfig_cluster shares a caller's Redis Cluster client; Close
// leaves it open.
func ExampleRedisConfig_cluster() {
	c := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 []string{"redis-0:6379", "redis-1:6379", "redis-2:6379"},
		ContextTimeoutEnabled: true, // so that OpTimeout ends a command on its own
	})
	defer c.Close()
	f, err := fleet.NewRedis(fleet.RedisConfig{Client: c, ProjectID: "project-live-0123"})
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
}
