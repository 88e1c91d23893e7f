package pec

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-message/charset"
)

// MaxDaticertSize bounds the daticert.xml that ParseDaticert accepts.
const MaxDaticertSize = 1 << 20

// ErrDaticert is wrapped by the errors of ParseDaticert.
var ErrDaticert = errors.New("pec: unreadable daticert.xml")

type xmlDaticert struct {
	XMLName      xml.Name `xml:"postacert"`
	Tipo         string   `xml:"tipo,attr"`
	Errore       string   `xml:"errore,attr"`
	Intestazione struct {
		Mittente    string `xml:"mittente"`
		Destinatari []struct {
			Tipo  string `xml:"tipo,attr"`
			Value string `xml:",chardata"`
		} `xml:"destinatari"`
		Risposte string `xml:"risposte"`
		Oggetto  string `xml:"oggetto"`
	} `xml:"intestazione"`
	Dati struct {
		GestoreEmittente string `xml:"gestore-emittente"`
		Data             struct {
			Zona   string `xml:"zona,attr"`
			Giorno string `xml:"giorno"`
			Ora    string `xml:"ora"`
		} `xml:"data"`
		Identificativo string `xml:"identificativo"`
		Msgid          string `xml:"msgid"`
		Ricevuta       *struct {
			Tipo string `xml:"tipo,attr"`
		} `xml:"ricevuta"`
		Consegna     string   `xml:"consegna,omitempty"`
		Ricezione    []string `xml:"ricezione,omitempty"`
		ErroreEsteso string   `xml:"errore-esteso,omitempty"`
	} `xml:"dati"`
}

// ParseDaticert parses a daticert.xml. It fails only when the document is not a
// readable postacert XML; unknown values are kept as they are, and the returned
// warnings list what is missing or odd (in English, without personal data).
func ParseDaticert(data []byte) (*Daticert, []string, error) {
	if len(data) > MaxDaticertSize {
		return nil, nil, fmt.Errorf("%w: larger than %d bytes", ErrDaticert, MaxDaticertSize)
	}
	var x xmlDaticert
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.CharsetReader = func(label string, r io.Reader) (io.Reader, error) { return charset.Reader(label, r) }
	dec.Strict = true
	if err := dec.Decode(&x); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrDaticert, err)
	}
	var warn []string
	t := strings.TrimSpace
	d := &Daticert{
		Tipo:             Kind(t(x.Tipo)),
		Errore:           t(x.Errore),
		Mittente:         t(x.Intestazione.Mittente),
		Risposte:         t(x.Intestazione.Risposte),
		Oggetto:          t(x.Intestazione.Oggetto),
		GestoreEmittente: t(x.Dati.GestoreEmittente),
		Identificativo:   t(x.Dati.Identificativo),
		MsgID:            t(x.Dati.Msgid),
		Consegna:         t(x.Dati.Consegna),
		ErroreEsteso:     t(x.Dati.ErroreEsteso),
	}
	for _, r := range x.Intestazione.Destinatari {
		d.Destinatari = append(d.Destinatari, Recipient{Address: t(r.Value), Type: RecipientType(t(r.Tipo))})
	}
	for _, r := range x.Dati.Ricezione {
		d.Ricezione = append(d.Ricezione, t(r))
	}
	if x.Dati.Ricevuta != nil {
		d.Ricevuta = ReceiptType(t(x.Dati.Ricevuta.Tipo))
		if !d.Ricevuta.Valid() {
			warn = append(warn, "unknown ricevuta tipo")
		}
	}
	if !d.Tipo.daticertKind() {
		warn = append(warn, "unknown or missing tipo")
	}
	if d.Identificativo == "" {
		warn = append(warn, "missing identificativo")
	}
	if d.MsgID == "" {
		warn = append(warn, "missing msgid")
	}
	if x.Dati.Data.Giorno != "" || x.Dati.Data.Ora != "" {
		tm, err := daticertTime(t(x.Dati.Data.Giorno), t(x.Dati.Data.Ora), t(x.Dati.Data.Zona))
		if err != nil {
			warn = append(warn, "unreadable data: "+err.Error())
		} else {
			d.Time = tm
		}
	} else {
		warn = append(warn, "missing data")
	}
	return d, warn, nil
}

func daticertTime(giorno, ora, zona string) (time.Time, error) {
	loc := time.UTC
	if zona != "" {
		z, err := time.Parse("-0700", zona)
		if err != nil {
			return time.Time{}, errors.New("zona is not like +0100")
		}
		_, off := z.Zone()
		loc = time.FixedZone(zona, off)
	}
	tm, err := time.ParseInLocation("02/01/2006 15:04:05", giorno+" "+ora, loc)
	if err != nil {
		return time.Time{}, errors.New("giorno and ora are not like DD/MM/YYYY HH:MM:SS")
	}
	return tm, nil
}

// Marshal writes d as a daticert.xml document (UTF-8).
func (d *Daticert) Marshal() ([]byte, error) {
	var x xmlDaticert
	x.Tipo, x.Errore = string(d.Tipo), d.Errore
	if x.Errore == "" {
		x.Errore = ErrorNone
	}
	x.Intestazione.Mittente = d.Mittente
	for _, r := range d.Destinatari {
		x.Intestazione.Destinatari = append(x.Intestazione.Destinatari, struct {
			Tipo  string `xml:"tipo,attr"`
			Value string `xml:",chardata"`
		}{string(r.Type), r.Address})
	}
	x.Intestazione.Risposte = d.Risposte
	x.Intestazione.Oggetto = d.Oggetto
	x.Dati.GestoreEmittente = d.GestoreEmittente
	if !d.Time.IsZero() {
		x.Dati.Data.Zona = d.Time.Format("-0700")
		x.Dati.Data.Giorno = d.Time.Format("02/01/2006")
		x.Dati.Data.Ora = d.Time.Format("15:04:05")
	}
	x.Dati.Identificativo = d.Identificativo
	x.Dati.Msgid = d.MsgID
	if d.Ricevuta != "" {
		x.Dati.Ricevuta = &struct {
			Tipo string `xml:"tipo,attr"`
		}{string(d.Ricevuta)}
	}
	x.Dati.Consegna = d.Consegna
	x.Dati.Ricezione = d.Ricezione
	x.Dati.ErroreEsteso = d.ErroreEsteso
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(&x); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}
