package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/go-ldap/ldap/v3"

	"github.com/ldapotp/ldapotp/oath"
)

// createWorkers is how many adds are in flight on the one admin connection.
const createWorkers = 16

// TOTPWindow is the oathTOTPTimeStepWindow of the load users' params: one
// step either side, so a code computed just before a step boundary still
// matches when it arrives just after it.
const TOTPWindow = 1

// Create adds users (with their tokens and one shared params entry per
// token kind) to the directory at url, bound as adminDN on one connection
// with createWorkers adds in flight. It stops at the first failed add.
func Create(ctx context.Context, url, adminDN, adminPassword string, l Layout, users []*User) error {
	if err := checkLoopbackURL(url); err != nil {
		return err
	}
	conn, err := ldap.DialURL(url)
	if err != nil {
		return fmt.Errorf("create users: dial %s: %w", url, err)
	}
	defer conn.Close()
	if err := conn.Bind(adminDN, adminPassword); err != nil {
		return fmt.Errorf("create users: bind as %s: %w", adminDN, err)
	}
	var reqs []*ldap.AddRequest
	for _, kind := range []Kind{KindHOTP, KindTOTP} {
		if len(OfKind(users, kind)) > 0 {
			reqs = append(reqs, paramsEntry(l, kind, users))
		}
	}
	if err := addAll(ctx, conn, reqs); err != nil { // params first: tokens point at them
		return err
	}
	reqs = reqs[:0]
	for _, u := range users {
		if u.Kind != KindPlain {
			reqs = append(reqs, tokenEntry(l, u))
		}
		reqs = append(reqs, userEntry(u))
	}
	return addAll(ctx, conn, reqs)
}

// addAll sends the adds with createWorkers in flight and returns the first
// error.
func addAll(ctx context.Context, conn *ldap.Conn, reqs []*ldap.AddRequest) error {
	ch := make(chan *ldap.AddRequest)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range createWorkers {
		wg.Go(func() {
			for r := range ch {
				if err := conn.Add(r); err != nil {
					mu.Lock()
					first = errors.Join(first, fmt.Errorf("add %s: %w", r.DN, err))
					mu.Unlock()
				}
			}
		})
	}
	for _, r := range reqs {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		ch <- r
	}
	close(ch)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return fmt.Errorf("create users: %w", ctx.Err())
	}
	return first
}

// paramsEntry is the params entry shared by every token of kind (all
// load users of a kind have the same digits and period).
func paramsEntry(l Layout, kind Kind, users []*User) *ldap.AddRequest {
	u := OfKind(users, kind)[0]
	r := ldap.NewAddRequest(l.ParamsDN(kind), nil)
	r.Attribute("cn", []string{rdnValue(l.ParamsDN(kind))})
	r.Attribute("oathOTPLength", []string{strconv.Itoa(u.Digits)})
	r.Attribute("oathHMACAlgorithm", []string{oath.SHA1.OID()})
	if kind == KindHOTP {
		r.Attribute("objectClass", []string{"applicationProcess", "oathHOTPParams"})
		r.Attribute("oathHOTPLookAhead", []string{"0"})
		return r
	}
	r.Attribute("objectClass", []string{"applicationProcess", "oathTOTPParams"})
	r.Attribute("oathTOTPTimeStepPeriod", []string{strconv.FormatInt(u.Period, 10)})
	r.Attribute("oathTOTPTimeStepWindow", []string{strconv.Itoa(TOTPWindow)})
	return r
}

// tokenEntry is the token of an OTP user. An HOTP token that already
// served codes starts at the user's counter.
func tokenEntry(l Layout, u *User) *ldap.AddRequest {
	class, pointer := "oathHOTPToken", "oathHOTPParams"
	if u.Kind == KindTOTP {
		class, pointer = "oathTOTPToken", "oathTOTPParams"
	}
	r := ldap.NewAddRequest(u.Token, nil)
	r.Attribute("objectClass", []string{"device", class})
	r.Attribute("cn", []string{rdnValue(u.Token)})
	r.Attribute("oathSecret", []string{string(u.key)})
	r.Attribute(pointer, []string{l.ParamsDN(u.Kind)})
	if u.Kind == KindHOTP && u.Next > 0 {
		r.Attribute("oathHOTPCounter", []string{strconv.FormatInt(u.Next-1, 10)})
	}
	return r
}

// userEntry is the inetOrgPerson of a user, pointing at its token.
func userEntry(u *User) *ldap.AddRequest {
	name := rdnValue(u.DN)
	r := ldap.NewAddRequest(u.DN, nil)
	classes := []string{"inetOrgPerson"}
	switch u.Kind {
	case KindHOTP:
		classes = append(classes, "oathHOTPUser")
		r.Attribute("oathHOTPToken", []string{u.Token})
	case KindTOTP:
		classes = append(classes, "oathTOTPUser")
		r.Attribute("oathTOTPToken", []string{u.Token})
	}
	r.Attribute("objectClass", classes)
	r.Attribute("uid", []string{name})
	r.Attribute("cn", []string{name})
	r.Attribute("sn", []string{name})
	r.Attribute("userPassword", []string{ssha(u.Password)})
	return r
}

// rdnValue returns the value of a DN's first RDN ("cn=x,ou=y" → "x"); load
// DNs never need escaping.
func rdnValue(dn string) string {
	first, _, _ := strings.Cut(dn, ",")
	_, v, _ := strings.Cut(first, "=")
	return v
}
