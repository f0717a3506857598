package proxy

import (
	"bufio"
	"crypto/tls"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
)

// startTLS answers a StartTLS request (RFC 4511 §4.14, RFC 4513 §3) and
// runs the TLS handshake on the connection. false ends the connection.
func (c *clientConn) startTLS(env envelope) bool {
	name := ber.NewString(ber.ClassContext, ber.TypePrimitive, 10, oidStartTLS, "responseName")
	answer := func(code ResultCode, text string) []byte {
		return encodeResponse(env.ID, tagExtendedResponse, result{Code: code, Message: text, Extra: []*ber.Packet{name}})
	}
	switch {
	case c.srv.certs == nil:
		c.write(answer(ProtocolError, "StartTLS is not configured on this server"))
		return true
	case c.tls:
		c.write(answer(OperationsError, "TLS is already established"))
		return true
	case c.pendingCount() > 0:
		c.write(answer(OperationsError, "operations are outstanding"))
		return true
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.bw.Write(answer(Success, "")); err != nil || c.bw.Flush() != nil {
		return false
	}
	tc := tls.Server(c.nc, c.srv.certs.serverConfig())
	_ = tc.SetDeadline(time.Now().Add(tlsHandshakeTimeout))
	if err := tc.Handshake(); err != nil {
		c.log.Warn("StartTLS handshake failed, closing", "err", err)
		c.nc.Close()
		return false
	}
	_ = tc.SetDeadline(time.Time{})
	c.nc, c.r, c.bw, c.tls = tc, bufio.NewReaderSize(tc, 16<<10), bufio.NewWriterSize(tc, 16<<10), true
	return true
}
