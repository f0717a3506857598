package proxy

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// indexWith builds a live index over testRules holding n OTP users
// uid=user<i>,ou=people,dc=x under the base ou=people,dc=x.
func indexWith(n int) *userIndex {
	x := newUserIndex(nil, Target{}, "", Secret{}, 0, 0, slog.New(slog.DiscardHandler))
	gen := x.reset(testRules, []string{"ou=people,dc=x"}, "persist")
	for i := range n {
		e := ldap.NewEntry(fmt.Sprintf("uid=user%d,ou=people,dc=x", i), map[string][]string{
			"objectClass": {"inetOrgPerson", "oathHOTPUser"}, "oathHOTPToken": {fmt.Sprintf("cn=t%d,dc=x", i)}})
		state := &ldap.ControlSyncState{State: ldap.SyncStateAdd, EntryUUID: uuid.New()}
		if _, err := x.applyEntry(gen, "ou=people,dc=x", e, []ldap.Control{state}); err != nil {
			panic(err)
		}
	}
	x.applyInfo(gen, "ou=people,dc=x", &ldap.ControlSyncInfo{RefreshDelete: &ldap.ControlSyncInfoRefreshDelete{RefreshDone: true}})
	return x
}

func TestUserIndex_Lookup(t *testing.T) {
	x := indexWith(3)
	u, ok := x.lookup("uid=user1,ou=people,dc=x")
	if assert.True(t, ok) && assert.NotNil(t, u) {
		assert.Equal(t, "cn=t1,dc=x", u.HOTPToken)
		assert.True(t, u.IsOTPUser)
	}
	for dn, wantOK := range map[string]bool{
		"uid=plain,ou=people,dc=x": true,  // keyed, inside the base, no OTP user: "no"
		"UID=USER1,ou=people,dc=x": false, // an OTP user under another spelling: read it
		"uid=plain,ou=other,dc=x":  false, // outside the base
		`uid="x",ou=people,dc=x`:   false, // no key
	} {
		u, ok := x.lookup(dn)
		assert.Equal(t, wantOK, ok, dn)
		assert.Nil(t, u, dn)
	}
	x.setLive(false)
	_, ok = x.lookup("uid=plain,ou=people,dc=x")
	assert.False(t, ok, "not live: cannot tell")
}

func TestUserIndex_DeleteAndRename(t *testing.T) {
	x := indexWith(0)
	id := uuid.New()
	add := func(dn string, state ldap.ControlSyncStateState) {
		e := ldap.NewEntry(dn, map[string][]string{"objectClass": {"oathTOTPUser"}})
		_, err := x.applyEntry(x.gen, "ou=people,dc=x", e, []ldap.Control{&ldap.ControlSyncState{State: state, EntryUUID: id}})
		assert.NoError(t, err)
	}
	add("uid=a,ou=people,dc=x", ldap.SyncStateAdd)
	add("uid=b,ou=people,dc=x", ldap.SyncStateModify) // renamed: same entryUUID
	_, ok := x.lookup("uid=a,ou=people,dc=x")
	assert.True(t, ok, "the old name is free again")
	u, _ := x.lookup("uid=b,ou=people,dc=x")
	assert.NotNil(t, u)
	add("uid=b,ou=people,dc=x", ldap.SyncStateDelete)
	u, ok = x.lookup("uid=b,ou=people,dc=x")
	assert.True(t, ok)
	assert.Nil(t, u)
	assert.Equal(t, 0, x.stats().Users)
	_, err := x.applyEntry(x.gen, "ou=people,dc=x", ldap.NewEntry("uid=c,dc=x", nil), nil)
	assert.Error(t, err, "an entry without a sync state")
}

// TestUserIndex_OldRound: messages still buffered from a broken sync must
// not land in the next round, nor make it live early.
func TestUserIndex_OldRound(t *testing.T) {
	x := indexWith(0)
	old := x.gen
	x.reset(testRules, []string{"ou=people,dc=x"}, "persist")
	e := ldap.NewEntry("uid=ghost,ou=people,dc=x", map[string][]string{"objectClass": {"oathHOTPUser"}})
	_, err := x.applyEntry(old, "ou=people,dc=x", e, []ldap.Control{&ldap.ControlSyncState{State: ldap.SyncStateAdd, EntryUUID: uuid.New()}})
	assert.NoError(t, err)
	x.applyInfo(old, "ou=people,dc=x", &ldap.ControlSyncInfo{RefreshPresent: &ldap.ControlSyncInfoRefreshPresent{RefreshDone: true}})
	x.polled(old, time.Now().Add(time.Hour))
	x.prune(old, "ou=people,dc=x", nil)
	assert.Equal(t, IndexStats{Mode: "persist"}, x.stats())
}

func BenchmarkUserIndexLookup(b *testing.B) {
	x := indexWith(10000)
	for _, dn := range []string{"uid=user5000,ou=people,dc=x", "uid=someone,ou=people,dc=x"} {
		b.Run(dn[:strings.IndexByte(dn, ',')], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				x.lookup(dn)
			}
		})
	}
}

// TestUserIndex_PollFreshness: a polling index answers only until its
// next poll is overdue, and a refresh prunes the users it did not mention.
func TestUserIndex_PollFreshness(t *testing.T) {
	x := indexWith(3)
	x.polled(x.gen, time.Now().Add(time.Hour))
	_, ok := x.lookup("uid=plain,ou=people,dc=x")
	assert.True(t, ok)
	x.polled(x.gen, time.Now().Add(-time.Millisecond))
	_, ok = x.lookup("uid=plain,ou=people,dc=x")
	assert.False(t, ok, "a poll is overdue: cannot tell")
	assert.False(t, x.stats().Live)

	x.polled(x.gen, time.Now().Add(time.Hour))
	keep := x.byDN["uid=user1,ou=people,dc=x"]
	x.prune(x.gen, "ou=other,dc=x", nil)
	assert.Equal(t, 3, x.stats().Users, "another base's refresh leaves these alone")
	x.prune(x.gen, "ou=people,dc=x", map[string]bool{keep: true})
	assert.Equal(t, 1, x.stats().Users)
	u, ok := x.lookup("uid=user0,ou=people,dc=x")
	assert.True(t, ok)
	assert.Nil(t, u, "pruned")
	x.applyInfo(x.gen, "ou=people,dc=x", &ldap.ControlSyncInfo{SyncIdSet: &ldap.ControlSyncInfoSyncIdSet{
		RefreshDeletes: true, SyncUUIDs: []uuid.UUID{uuid.MustParse(keep)}}})
	assert.Equal(t, 0, x.stats().Users)
}

// TestUserIndex_MoveBetweenBases: a user moved from one followed base to
// another is deleted by the first base's search and added by the second's,
// in either order; the index holds the user afterwards either way.
func TestUserIndex_MoveBetweenBases(t *testing.T) {
	const staff, people = "ou=staff,dc=x", "ou=people,dc=x"
	otpUser := func(dn string) *ldap.Entry {
		return ldap.NewEntry(dn, map[string][]string{"objectClass": {"inetOrgPerson", "oathHOTPUser"}, "oathHOTPToken": {"cn=t,dc=x"}})
	}
	for _, deleteFirst := range []bool{true, false} {
		x := newUserIndex(nil, Target{}, "", Secret{}, 0, 0, slog.New(slog.DiscardHandler))
		gen := x.reset(testRules, []string{staff, people}, "persist")
		id := uuid.New()
		apply := func(base string, e *ldap.Entry, state ldap.ControlSyncStateState) {
			_, err := x.applyEntry(gen, base, e, []ldap.Control{&ldap.ControlSyncState{State: state, EntryUUID: id}})
			require.NoError(t, err)
		}
		apply(staff, otpUser("uid=m,"+staff), ldap.SyncStateAdd)
		for _, base := range []string{staff, people} {
			x.applyInfo(gen, base, &ldap.ControlSyncInfo{RefreshDelete: &ldap.ControlSyncInfoRefreshDelete{RefreshDone: true}})
		}
		if deleteFirst {
			apply(staff, ldap.NewEntry("uid=m,"+staff, nil), ldap.SyncStateDelete)
			apply(people, otpUser("uid=m,"+people), ldap.SyncStateAdd)
		} else {
			apply(people, otpUser("uid=m,"+people), ldap.SyncStateAdd)
			apply(staff, ldap.NewEntry("uid=m,"+staff, nil), ldap.SyncStateDelete)
			x.applyInfo(gen, staff, &ldap.ControlSyncInfo{SyncIdSet: &ldap.ControlSyncInfoSyncIdSet{RefreshDeletes: true, SyncUUIDs: []uuid.UUID{id}}})
		}
		u, ok := x.lookup("uid=m," + people)
		require.True(t, ok, "delete first: %v", deleteFirst)
		assert.NotNil(t, u, "the moved user is an OTP user (delete first: %v)", deleteFirst)
		x.applyInfo(gen, people, &ldap.ControlSyncInfo{SyncIdSet: &ldap.ControlSyncInfoSyncIdSet{RefreshDeletes: true, SyncUUIDs: []uuid.UUID{id}}})
		_, ok = x.lookup("uid=m," + people)
		assert.True(t, ok)
		assert.Equal(t, 0, x.stats().Users, "deleted by the base that holds it")
	}
}
