package pec

import (
	"crypto/x509"
	"sync"
	"time"
)

// Providers sign with a handful of certificates: each is parsed once per
// process, and its chain is checked once per validity window, instead of for
// every message. Both caches are bounded; when full they start again empty.
const maxCachedCerts = 256

var certCache struct {
	sync.Mutex
	certs  map[string]*x509.Certificate
	chains map[chainKey][]validity
	names  map[*x509.Certificate]string
}

// cachedCertificate parses der, or returns the certificate parsed before. The
// certificate is shared: callers must not modify it.
func cachedCertificate(der []byte) (*x509.Certificate, error) {
	certCache.Lock()
	c, ok := certCache.certs[string(der)]
	certCache.Unlock()
	if ok {
		return c, nil
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return canonicalCertificate(c), nil
}

// canonicalCertificate returns the cached certificate equal to c, caching c
// when there is none.
func canonicalCertificate(c *x509.Certificate) *x509.Certificate {
	certCache.Lock()
	defer certCache.Unlock()
	if cc, ok := certCache.certs[string(c.Raw)]; ok {
		return cc
	}
	if certCache.certs == nil || len(certCache.certs) >= maxCachedCerts {
		certCache.certs = make(map[string]*x509.Certificate)
	}
	certCache.certs[string(c.Raw)] = c
	return c
}

// chainKey names one chain check: the signer's certificate, the other
// certificates the message offered, and the trust store.
type chainKey struct {
	leaf  *x509.Certificate
	roots *x509.CertPool
	inter [4]*x509.Certificate
}

// validity is a period in which every certificate of a verified chain is valid.
type validity struct{ from, to time.Time }

// verifyChain checks that leaf chains to roots at time at, with others as
// possible intermediates. A success holds for any time within the validity of
// every certificate of one of the chains found (x509 checks nothing else that
// depends on time), so it is reused for those times; failures are not cached.
func verifyChain(leaf *x509.Certificate, others []*x509.Certificate, roots *x509.CertPool, at time.Time) error {
	key, cacheable := chainKey{leaf: leaf, roots: roots}, len(others) <= len(chainKey{}.inter)
	if cacheable {
		copy(key.inter[:], others)
		certCache.Lock()
		ws := certCache.chains[key]
		certCache.Unlock()
		for _, w := range ws {
			if !at.Before(w.from) && !at.After(w.to) {
				return nil
			}
		}
	}
	inter := x509.NewCertPool()
	for _, c := range others {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil || !cacheable {
		return err
	}
	var ws []validity
	for _, ch := range chains {
		w := validity{from: ch[0].NotBefore, to: ch[0].NotAfter}
		for _, c := range ch[1:] {
			if c.NotBefore.After(w.from) {
				w.from = c.NotBefore
			}
			if c.NotAfter.Before(w.to) {
				w.to = c.NotAfter
			}
		}
		ws = append(ws, w)
	}
	certCache.Lock()
	if certCache.chains == nil || len(certCache.chains) >= maxCachedCerts {
		certCache.chains = make(map[chainKey][]validity)
	}
	certCache.chains[key] = ws
	certCache.Unlock()
	return nil
}

// signerName is cert's subject as text, computed once per certificate.
func signerName(cert *x509.Certificate) string {
	certCache.Lock()
	n, ok := certCache.names[cert]
	certCache.Unlock()
	if ok {
		return n
	}
	n = cert.Subject.String()
	certCache.Lock()
	if certCache.names == nil || len(certCache.names) >= maxCachedCerts {
		certCache.names = make(map[*x509.Certificate]string)
	}
	certCache.names[cert] = n
	certCache.Unlock()
	return n
}
