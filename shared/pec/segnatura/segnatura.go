// Package segnatura writes and reads the protocol signature (segnatura.xml) that
// messages between administrations' registries carry, per AgID "Linee guida sul
// documento informatico" (2021), Allegato 6, version 3.0.0.
//
// Only the subset Casellario PEC needs is modelled: Intestazione/Identificatore,
// Oggetto, Classifica, and Descrizione with Mittente, Destinatario,
// DocumentoPrimario and Allegato, each document with its SHA-256 Impronta
// (algoritmo and codifica attributes: an assumption, to check against the XSD).
package segnatura

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Namespace and version of segnatura.xml.
const (
	Namespace = "http://www.agid.gov.it/protocollo/"
	Version   = "3.0.0"
	// FileName is the attachment name of the segnatura.
	FileName = "segnatura.xml"
	// AlgorithmSHA256 is the Impronta algoritmo written.
	AlgorithmSHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
)

// Segnatura is a segnatura.xml.
type Segnatura struct {
	XMLName      xml.Name     `xml:"http://www.agid.gov.it/protocollo/ SegnaturaInformatica"`
	Versione     string       `xml:"versione,attr"`
	Intestazione Intestazione `xml:"Intestazione"`
	Descrizione  Descrizione  `xml:"Descrizione"`
}

// Intestazione is the header of a segnatura.
type Intestazione struct {
	Identificatore Identificatore `xml:"Identificatore"`
	Oggetto        string         `xml:"Oggetto"`
	Classifica     string         `xml:"Classifica,omitempty"`
}

// Identificatore identifies a registration in a protocol register.
type Identificatore struct {
	CodiceAmministrazione string `xml:"CodiceAmministrazione"` // IPA code, e.g. c_g999
	CodiceAOO             string `xml:"CodiceAOO"`
	CodiceRegistro        string `xml:"CodiceRegistro"`      // [A-Za-z0-9_.-]{1,16}
	NumeroRegistrazione   string `xml:"NumeroRegistrazione"` // [0-9]{7,}
	DataRegistrazione     string `xml:"DataRegistrazione"`   // YYYY-MM-DD
}

// Ente is a sender or addressee administration.
type Ente struct {
	Denominazione         string `xml:"Denominazione"`
	CodiceAmministrazione string `xml:"CodiceAmministrazione,omitempty"`
	CodiceAOO             string `xml:"CodiceAOO,omitempty"`
	IndirizzoTelematico   string `xml:"IndirizzoTelematico,omitempty"` // PEC address
}

// Documento is a document of the registration with its fingerprint.
type Documento struct {
	Nome     string   `xml:"nome,attr"`
	Impronta Impronta `xml:"Impronta"`
}

// Impronta is a document fingerprint.
type Impronta struct {
	Algoritmo string `xml:"algoritmo,attr"`
	Codifica  string `xml:"codifica,attr"`
	Valore    string `xml:",chardata"`
}

// Descrizione describes the sender, addressees and documents.
type Descrizione struct {
	Mittente          Ente        `xml:"Mittente"`
	Destinatario      []Ente      `xml:"Destinatario"`
	DocumentoPrimario Documento   `xml:"DocumentoPrimario"`
	Allegato          []Documento `xml:"Allegato"`
}

// NewDocumento returns the Documento of a file named name with content data.
func NewDocumento(name string, data []byte) Documento {
	sum := sha256.Sum256(data)
	return Documento{Nome: name, Impronta: Impronta{Algoritmo: AlgorithmSHA256, Codifica: "base64", Valore: base64.StdEncoding.EncodeToString(sum[:])}}
}

// SetDate sets DataRegistrazione.
func (s *Segnatura) SetDate(t time.Time) {
	s.Intestazione.Identificatore.DataRegistrazione = t.Format("2006-01-02")
}

var (
	reRegistro = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,16}$`)
	reNumero   = regexp.MustCompile(`^[0-9]{7,}$`)
)

// Validate checks the fields the guidelines constrain.
func (s *Segnatura) Validate() error {
	id := s.Intestazione.Identificatore
	var errs []error
	if id.CodiceAmministrazione == "" {
		errs = append(errs, errors.New("element CodiceAmministrazione is empty"))
	}
	if id.CodiceAOO == "" {
		errs = append(errs, errors.New("element CodiceAOO is empty"))
	}
	if !reRegistro.MatchString(id.CodiceRegistro) {
		errs = append(errs, errors.New("element CodiceRegistro is not [A-Za-z0-9_.-]{1,16}"))
	}
	if !reNumero.MatchString(id.NumeroRegistrazione) {
		errs = append(errs, errors.New("element NumeroRegistrazione is not [0-9]{7,}"))
	}
	if _, err := time.Parse("2006-01-02", id.DataRegistrazione); err != nil {
		errs = append(errs, errors.New("element DataRegistrazione is not YYYY-MM-DD"))
	}
	if s.Intestazione.Oggetto == "" {
		errs = append(errs, errors.New("element Oggetto is empty"))
	}
	if s.Descrizione.DocumentoPrimario.Nome == "" {
		errs = append(errs, errors.New("element DocumentoPrimario is missing"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("segnatura: %w", err)
	}
	return nil
}

// Marshal validates s and writes it as XML (UTF-8).
func (s *Segnatura) Marshal() ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	c := *s
	c.Versione = Version
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(&c); err != nil {
		return nil, fmt.Errorf("segnatura: %w", err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// Parse reads a segnatura.xml (at most 1 MiB).
func Parse(data []byte) (*Segnatura, error) {
	if len(data) > 1<<20 {
		return nil, errors.New("segnatura: larger than 1 MiB")
	}
	var s Segnatura
	if err := xml.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("segnatura: %w", err)
	}
	if s.Versione != Version {
		return &s, fmt.Errorf("segnatura: version %q, want %q", s.Versione, Version)
	}
	return &s, nil
}
