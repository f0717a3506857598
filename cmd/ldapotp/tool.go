package main

import (
	"encoding/base32"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"

	"github.com/ldapotp/ldapotp/oath"
)

const toolUsage = `usage: ldapotp tool <verb> [flags]

  otpauth        print the otpauth:// URI of a token and a QR code to scan
  code           print the current code of a token (for tests and demos)
  gen_logout     the session logout password (SLP) of a session's password
  gen_client_tp  the client trust password (CTP) of a code
`

func runTool(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, toolUsage)
		return exitUsage
	}
	switch args[0] {
	case "otpauth":
		return runToolOTPAuth(args[1:], stdout, stderr)
	case "code":
		return runToolCode(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "ldapotp tool: unknown command %q\n%s", args[0], toolUsage)
	return exitUsage
}

// tokenFlags are the flags that describe a token for the tools.
type tokenFlags struct {
	secretFile string
	kind       string
	digits     int
	algorithm  string
	period     int64
	counter    int64
}

func (t *tokenFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.secretFile, "secret-file", "", "file holding the secret in base32 (as authenticator apps show it)")
	fs.StringVar(&t.kind, "type", "totp", "totp or hotp")
	fs.IntVar(&t.digits, "digits", 6, "code length, 1-8")
	fs.StringVar(&t.algorithm, "algorithm", "sha1", "sha1, sha224, sha256, sha384 or sha512")
	fs.Int64Var(&t.period, "period", 30, "TOTP period in seconds")
	fs.Int64Var(&t.counter, "counter", 0, "HOTP counter")
}

// load reads and checks the flags; it returns the raw secret.
func (t *tokenFlags) load() (oath.Algorithm, []byte, error) {
	alg, err := oath.AlgorithmFromName(t.algorithm)
	if err != nil {
		return 0, nil, fmt.Errorf("--algorithm: %w", err)
	}
	if t.kind != "totp" && t.kind != "hotp" {
		return 0, nil, fmt.Errorf("--type: %q: must be totp or hotp", t.kind)
	}
	if t.digits < 1 || t.digits > oath.MaxDigits {
		return 0, nil, fmt.Errorf("--digits: %d: must be 1-8", t.digits)
	}
	if t.period < 1 {
		return 0, nil, fmt.Errorf("--period: %d: must be at least 1", t.period)
	}
	if t.secretFile == "" {
		return 0, nil, fmt.Errorf("--secret-file: required")
	}
	b, err := readSecretFile(t.secretFile)
	if err != nil {
		return 0, nil, err
	}
	key, err := decodeBase32(string(b))
	if err != nil {
		return 0, nil, fmt.Errorf("--secret-file: not base32: %w", err)
	}
	return alg, key, nil
}

func decodeBase32(s string) ([]byte, error) {
	s = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	return base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(s, "="))
}

func runToolCode(args []string, stdout, stderr io.Writer) int {
	var t tokenFlags
	fs := flag.NewFlagSet("tool code", flag.ContinueOnError)
	fs.SetOutput(stderr)
	t.register(fs)
	at := fs.Int64("time", 0, "unix time for TOTP (default now)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	alg, key, err := t.load()
	if err != nil {
		fmt.Fprintf(stderr, "ldapotp tool code: %v\n", err)
		return exitUsage
	}
	counter := t.counter
	if t.kind == "totp" {
		now := time.Now().Unix()
		if *at != 0 {
			now = *at
		}
		counter = now / t.period
	}
	fmt.Fprintln(stdout, oath.Code(alg, key, counter, t.digits))
	return exitOK
}

func runToolOTPAuth(args []string, stdout, stderr io.Writer) int {
	var t tokenFlags
	fs := flag.NewFlagSet("tool otpauth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	t.register(fs)
	account := fs.String("account", "", "account name shown in the app, e.g. alice@example.com")
	issuer := fs.String("issuer", "ldapotp", "issuer shown in the app")
	pngFile := fs.String("qr", "", "also write the QR code to this PNG file")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	alg, key, err := t.load()
	if err == nil && *account == "" {
		err = fmt.Errorf("--account: required")
	}
	if err != nil {
		fmt.Fprintf(stderr, "ldapotp tool otpauth: %v\n", err)
		return exitUsage
	}
	uri := otpauthURI(t, alg, key, *issuer, *account)
	fmt.Fprintln(stdout, uri)
	if err := printQR(stdout, uri, *pngFile); err != nil {
		fmt.Fprintf(stderr, "ldapotp tool otpauth: %v\n", err)
		return exitFail
	}
	return exitOK
}

// otpauthURI builds the Key URI Format used by authenticator apps.
func otpauthURI(t tokenFlags, alg oath.Algorithm, key []byte, issuer, account string) string {
	q := url.Values{}
	q.Set("secret", base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(key))
	q.Set("issuer", issuer)
	q.Set("algorithm", alg.URIName())
	q.Set("digits", strconv.Itoa(t.digits))
	if t.kind == "totp" {
		q.Set("period", strconv.FormatInt(t.period, 10))
	} else {
		q.Set("counter", strconv.FormatInt(t.counter+1, 10))
	}
	u := url.URL{Scheme: "otpauth", Host: t.kind, Path: "/" + issuer + ":" + account, RawQuery: q.Encode()}
	return u.String()
}

// printQR draws the QR code of text with half-block characters (two
// modules a character cell, with a quiet zone) and writes a PNG if asked.
func printQR(w io.Writer, text, pngFile string) error {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return fmt.Errorf("encode QR code: %w", err)
	}
	n := code.Bounds().Dx()
	dark := func(x, y int) bool {
		if x < 0 || y < 0 || x >= n || y >= n {
			return false
		}
		r, _, _, _ := code.At(x, y).RGBA()
		return r < 0x8000
	}
	var b strings.Builder
	for y := -2; y < n+2; y += 2 {
		for x := -2; x < n+2; x++ {
			top, bottom := dark(x, y), dark(x, y+1)
			b.WriteString(halfBlock(top, bottom))
		}
		b.WriteString("\n")
	}
	fmt.Fprint(w, b.String())
	if pngFile == "" {
		return nil
	}
	return writePNG(code, pngFile)
}

// halfBlock renders two vertically stacked modules for a dark-on-light
// terminal QR: light modules are drawn, dark ones are blank.
func halfBlock(top, bottom bool) string {
	switch {
	case !top && !bottom:
		return "█"
	case !top:
		return "▀"
	case !bottom:
		return "▄"
	}
	return " "
}

// writePNG writes the QR code at 8 pixels a module with the 4-module
// quiet zone scanners need around it.
func writePNG(code barcode.Barcode, path string) error {
	const px, quiet = 8, 4
	n := code.Bounds().Dx()
	scaled, err := barcode.Scale(code, px*n, px*n)
	if err != nil {
		return fmt.Errorf("scale QR code: %w", err)
	}
	side := px * (n + 2*quiet)
	img := image.NewGray(image.Rect(0, 0, side, side))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(px*quiet, px*quiet, px*(quiet+n), px*(quiet+n)), scaled, image.Point{}, draw.Src)
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write QR code: %w", err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		return fmt.Errorf("write QR code %s: %w", path, err)
	}
	return f.Close()
}
