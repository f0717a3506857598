// Package storetest is the conformance suite of otpme.Store: every Store
// implementation (the memory store, the directory store) runs Run from its
// own tests. It checks each method's contract, concurrent use (racing
// one-time codes, racing max_login, racing fail counts and session
// creation), and two engines — two proxies — sharing one store.
//
// storetest is test support: it imports testing (the one package of the
// module whose non-test files may), github.com/stretchr/testify, the
// standard library and otpme.
package storetest
