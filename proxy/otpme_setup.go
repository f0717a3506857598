package proxy

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/ldapotp/ldapotp/otpme"
)

// purgeInterval is how often expired OTPme state is removed.
const purgeInterval = time.Minute

// startOTPme builds the OTPme engine from the configuration: objects read
// from the directory under otpme_base, state in memory or in the
// directory, and a purge of expired state once a minute until Shutdown.
func (s *Server) startOTPme() error {
	sd, ok := s.dir.(*ServiceDirectory)
	if !ok {
		return errors.New("otpme_base: needs the service-account directory")
	}
	objs := NewDirObjects(ServiceObjectDirectory(sd), s.cfg.OTPmeBase, s.cfg.OTPmeRefresh, s.now, s.log)
	var store otpme.Store = otpme.NewMemStore()
	if s.cfg.Store == "directory" {
		ds := NewDirStore(sd, s.cfg.OTPmeBase)
		ds.SetLogger(s.log)
		store, s.flushState = ds, ds.Flush
	}
	key := otpme.Secret(s.cfg.OTPmeKey.Bytes())
	if len(key) == 0 {
		key = make(otpme.Secret, otpme.MinKeyLength)
		_, _ = rand.Read(key)
	}
	e, err := otpme.New(otpme.Config{Objects: objs, Store: store, OATH: OATHFromBind{}, Key: key,
		AllowGroupMissing: s.cfg.AllowGroupMissing, Now: s.now})
	if err != nil {
		return fmt.Errorf("otpme: %w", err)
	}
	objs.SetRevoker(e)
	s.otpmeEngine, s.otpmeDir = e, objs
	go s.purgeLoop(e)
	return nil
}

func (s *Server) purgeLoop(e *otpme.Engine) {
	t := time.NewTicker(purgeInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			if n, err := e.Purge(s.ctx); err != nil {
				s.log.Warn("otpme: purge of expired state failed", "err", err)
			} else if n > 0 {
				s.log.Debug("otpme: purged expired state", "entries", n)
			}
		}
	}
}
