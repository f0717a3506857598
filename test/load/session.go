package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ldapotp/ldapotp/otpme"
)

// OpenSessions opens one OTPme session for each user that has none: a bind
// with the current mOTP code of the user's token (an AUTH_OK_OTP login,
// which opens a session when the user's access group has sessions on). The
// code becomes the session's password, which every later session-rebind
// bind sends. workers binds run at once, each on its own connection. A
// user whose login fails keeps no session, and the error says how many
// failed with which result code: re-binds of users without a session would
// measure refusals, not sessions.
func OpenSessions(ctx context.Context, url string, users []*User, workers int) error {
	addr, err := loopbackAddr(url)
	if err != nil {
		return err
	}
	var todo []*User
	for _, u := range users {
		if u.MOTPSecret == "" {
			return fmt.Errorf("open sessions: user %q has no mOTP token (motp_secret, motp_pin)", u.DN)
		}
		if u.session == nil {
			todo = append(todo, u)
		}
	}
	workers = max(1, min(workers, len(todo)))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		fails = map[string]int{}
	)
	fail := func(why string) {
		mu.Lock()
		fails[why]++
		mu.Unlock()
	}
	for i := range workers {
		lo, hi := partition(len(todo), workers, i)
		wg.Go(func() {
			var c *client
			defer func() {
				if c != nil {
					c.close()
				}
			}()
			for _, u := range todo[lo:hi] {
				if ctx.Err() != nil {
					fail(ctx.Err().Error())
					continue
				}
				if c == nil {
					nc, err := dial(ctx, addr)
					if err != nil {
						fail(err.Error())
						continue
					}
					c = nc
				}
				code := []byte(otpme.MOTPCode(otpme.Secret(u.MOTPSecret), otpme.Secret(u.MOTPPIN), time.Now()))
				rc, err := c.bind(u.DN, code)
				switch {
				case err != nil:
					fail(err.Error())
					c.close()
					c = nil
				case rc != 0:
					fail(fmt.Sprintf("code %d (%s)", rc, codeName(rc)))
				default:
					u.session = code
				}
			}
		})
	}
	wg.Wait()
	if len(fails) == 0 {
		return nil
	}
	var parts []string
	n := 0
	for why, k := range fails {
		parts = append(parts, fmt.Sprintf("%d× %s", k, why))
		n += k
	}
	sort.Strings(parts)
	return fmt.Errorf("open sessions: %d of %d mOTP logins failed: %s", n, len(todo), strings.Join(parts, ", "))
}
