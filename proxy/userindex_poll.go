package proxy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/ldapotp/ldapotp/schema"
)

// Why the index polls by default: slapd's syncprov sends every
// refreshAndPersist search a message (a Sync Info newCookie) for every write
// to the database, in the search's subtree or not. Every OTP bind writes a
// counter, so a persistent search made slapd do one more send per OTP bind,
// and one more per proxy: measured here, a service account's counter
// compare-and-swap cost slapd 230 µs of CPU with the search instead of
// 140 µs, and with default durability slapd wrote 1,150 instead of 1,500
// counters a second (docs/performance-history.md). A poll costs the directory the
// same whatever the write rate: nothing when nothing changed, else the
// changed entries and the entryUUIDs of the others (or, with
// syncprov-sessionlog, only what changed).

// errCannotPoll: a poll could not see every change, because the service
// account cannot search entryCSN under a base (slapd adds entryCSN>=cookie
// to a refresh with a cookie and evaluates it with the account's rights).
var errCannotPoll = errors.New("the service account cannot search entryCSN under the followed bases (grant it read on entryCSN to let the index poll)")

// pollShare bounds the time spent polling: the next poll starts no sooner
// than pollShare times the last poll's duration after it started.
const pollShare = 20

// resultSyncRefreshRequired is RFC 4533's e-syncRefreshRequired: the
// cookie is too old, refresh without it.
const resultSyncRefreshRequired = 4096

// poll refreshes every base each interval until ctx ends or a refresh
// fails. The index answers from the end of the first complete poll until
// the next one is overdue: interval (or pollShare times the last poll's
// duration) plus the timeout after the last complete poll started.
func (x *userIndex) poll(ctx context.Context, c *ldap.Conn, gen uint64, bases []string) error {
	cookies := make([][]byte, len(bases))
	for {
		start := time.Now()
		pctx, cancel := context.WithTimeout(ctx, x.timeout)
		for i, base := range bases {
			if err := x.refresh(pctx, c, gen, base, &cookies[i]); err != nil {
				cancel()
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return err
			}
		}
		cancel()
		wait := max(x.interval, pollShare*time.Since(start))
		x.polled(gen, start.Add(wait+x.timeout))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(start.Add(wait))):
		}
	}
}

// polled records a complete poll: the index is live until freshTill.
func (x *userIndex) polled(gen uint64, freshTill time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if gen != x.gen {
		return
	}
	if !x.live {
		x.goLive()
	}
	x.freshTill = freshTill
}

// refresh runs one refreshOnly sync search of base with *cookie and applies
// it; *cookie becomes the directory's new one. Without a cookie the
// directory sends every OTP user of base, and those the index holds that
// it did not send are gone. With one it sends what changed since, and then
// either the entryUUIDs of everything else (present phase: the rest are
// gone) or of what was deleted (RFC 4533 §3.3.1).
//
// A cookie is only kept once a refresh has shown that the service account
// can search entryCSN under base: else slapd would answer every later
// refresh with "nothing changed".
func (x *userIndex) refresh(ctx context.Context, c *ldap.Conn, gen uint64, base string, cookie *[]byte) error {
	full := *cookie == nil
	attrs := schema.UserAttributes
	if full {
		attrs = append(slices.Clip(attrs), "entryCSN")
	}
	req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		userIndexFilter, attrs, nil)
	r := c.Syncrepl(ctx, req, indexBuffer, ldap.SyncRequestModeRefreshOnly, *cookie, false)
	seen := map[string]bool{}
	var done *ldap.ControlSyncDone
	var newCookie []byte
	sent, noCSN, maxCSN := 0, 0, ""
	for r.Next() {
		if e := r.Entry(); e != nil {
			id, err := x.applyEntry(gen, base, e, r.Controls())
			if err != nil {
				return fmt.Errorf("sync of %q: %w", base, err)
			}
			if id != "" {
				seen[id] = true
			}
			sent++
			csn := e.GetAttributeValue("entryCSN")
			if csn == "" {
				noCSN++
			}
			maxCSN = max(maxCSN, csn)
			continue
		}
		for _, ctl := range r.Controls() {
			switch v := ctl.(type) {
			case *ldap.ControlSyncInfo:
				switch {
				case v.SyncIdSet != nil && v.SyncIdSet.RefreshDeletes:
					x.applyInfo(gen, base, v) // deleted since the cookie
				case v.SyncIdSet != nil:
					for _, id := range v.SyncIdSet.SyncUUIDs {
						seen[id.String()] = true
					}
				case v.NewCookie != nil:
					newCookie = v.NewCookie.Cookie
				}
			case *ldap.ControlSyncDone:
				done = v
			}
		}
	}
	if err := r.Err(); err != nil {
		if !full && ldap.IsErrorWithCode(err, resultSyncRefreshRequired) {
			*cookie = nil
			return x.refresh(ctx, c, gen, base, cookie)
		}
		return syncError(base, err)
	}
	if done == nil {
		return fmt.Errorf("sync of %q: the refresh ended without a Sync Done control", base)
	}
	if !full && x.missing(gen, seen) {
		// The directory names OTP users the polls never sent: changes the
		// cookie's entryCSN filter could not see (the account cannot read
		// entryCSN there). Only a full refresh shows them.
		x.log.Warn("user index: a poll named OTP users it had not sent; refreshing in full", "base", base)
		*cookie = nil
		return x.refresh(ctx, c, gen, base, cookie)
	}
	if full || !done.RefreshDeletes {
		x.prune(gen, base, seen)
	}
	if done.Cookie != nil {
		newCookie = done.Cookie
	}
	if full {
		if sent == 0 {
			return nil // nothing to learn entryCSN's visibility from: refresh in full again
		}
		if noCSN > 0 {
			return fmt.Errorf("%w: %q: %d of %d OTP users without a readable entryCSN", errCannotPoll, base, noCSN, sent)
		}
		if err := x.canSearchCSN(c, base, maxCSN); err != nil {
			return err
		}
	}
	if newCookie != nil {
		*cookie = newCookie
	}
	return nil
}

// canSearchCSN checks that the service account can search entryCSN under
// base: maxCSN, the newest entryCSN a full refresh returned, must find an
// entry.
func (x *userIndex) canSearchCSN(c *ldap.Conn, base, maxCSN string) error {
	if maxCSN == "" {
		return fmt.Errorf("%w: %q: no entryCSN in the entries sent", errCannotPoll, base)
	}
	filter := "(&" + userIndexFilter + "(entryCSN>=" + ldap.EscapeFilter(maxCSN) + "))"
	res, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 1, 0, false,
		filter, []string{"1.1"}, nil))
	if res != nil && len(res.Entries) > 0 {
		return nil
	}
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) {
		return fmt.Errorf("sync of %q: search by entryCSN: %w", base, err)
	}
	return fmt.Errorf("%w: %q: a search by entryCSN finds nothing", errCannotPoll, base)
}

// missing reports whether ids name a user the index does not hold.
func (x *userIndex) missing(gen uint64, ids map[string]bool) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if gen != x.gen {
		return false
	}
	for id := range ids {
		if _, found := x.byUUID[id]; !found {
			return true
		}
	}
	return false
}

// prune removes the users of base that the refresh did not mention.
func (x *userIndex) prune(gen uint64, base string, seen map[string]bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if gen != x.gen {
		return
	}
	for id, u := range x.byUUID {
		if u.base == base && !seen[id] {
			x.updates++
			x.remove(id)
		}
	}
}
