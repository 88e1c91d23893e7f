package pdf

// The page tree: pages in order, with the attributes they inherit from the
// nodes above them. The walk goes down /Kids only (never up /Parent), at most
// MaxDepth levels, and visits a node once: a kid pointing at an ancestor or
// a node listed twice is skipped.

type page struct {
	dict dict
	ref  ref // {0, 0} for a page written directly in /Kids
	// Inherited attributes, as found (maybe references); nil when absent.
	resources, mediaBox, cropBox, rotate object
}

var inheritable = []name{"Resources", "MediaBox", "CropBox", "Rotate"}

type pageTree struct {
	pages []page
	nodes map[int]bool // object numbers of the tree's nodes and pages
}

// catalog returns the document catalog.
func (d *doc) catalog() (dict, error) {
	cat, err := d.dictOf(d.trailer["Root"])
	if err != nil {
		return nil, err
	}
	if cat == nil {
		return nil, notPDF("no document catalog")
	}
	return cat, nil
}

// pageTree walks the page tree.
func (d *doc) pageTree() (*pageTree, error) {
	cat, err := d.catalog()
	if err != nil {
		return nil, err
	}
	t := &pageTree{nodes: map[int]bool{}}
	if r, ok := d.trailer["Root"].(ref); ok {
		t.nodes[r.num] = true
	}
	root := cat["Pages"]
	rd, err := d.dictOf(root)
	if err != nil {
		return nil, err
	}
	if rd == nil {
		return nil, notPDF("no page tree")
	}
	if err := d.walk(t, root, map[name]object{}, 0); err != nil {
		return nil, err
	}
	return t, nil
}

func (d *doc) walk(t *pageTree, node object, inh map[name]object, depth int) error {
	if depth >= d.b.lim.MaxDepth {
		return limitErr("page tree deeper than %d", d.b.lim.MaxDepth)
	}
	if err := d.b.tick(); err != nil {
		return err
	}
	r, isRef := node.(ref)
	if isRef {
		if t.nodes[r.num] {
			return nil // seen: a loop or a node listed twice
		}
		t.nodes[r.num] = true
	}
	nd, err := d.dictOf(node)
	if err != nil {
		return err
	}
	if nd == nil {
		return nil // a broken kid: the others are still pages
	}
	own, copied := inh, false
	for _, k := range inheritable {
		if v, ok := nd[k]; ok {
			if !copied {
				own = make(map[name]object, len(inheritable))
				for k2, v2 := range inh {
					own[k2] = v2
				}
				copied = true
			}
			own[k] = v
		}
	}
	kidsObj, hasKids := nd["Kids"]
	if nd["Type"] == name("Pages") || (nd["Type"] != name("Page") && hasKids) {
		kv, err := d.resolveOK(kidsObj)
		if err != nil {
			return err
		}
		kids, _ := kv.(array)
		for _, k := range kids {
			if err := d.walk(t, k, own, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if len(t.pages) >= d.b.lim.MaxPages {
		return limitErr("more than %d pages", d.b.lim.MaxPages)
	}
	p := page{dict: nd}
	if isRef {
		p.ref = r
	}
	p.resources, p.mediaBox, p.cropBox, p.rotate = own["Resources"], own["MediaBox"], own["CropBox"], own["Rotate"]
	t.pages = append(t.pages, p)
	return nil
}
