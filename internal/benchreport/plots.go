package main

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Series is one set of bars, one value per group.
type Series struct {
	Name   string
	Values []float64
}

// Chart is a grouped bar chart: one cluster of bars per group, one bar per series.
type Chart struct {
	Title, YLabel string
	Groups        []string
	Series        []Series
}

var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
}

// Save draws the chart as a PNG at path.
func (c Chart) Save(path string) error {
	if len(c.Groups) == 0 || len(c.Series) == 0 {
		return fmt.Errorf("%s: nothing to plot", c.Title)
	}
	p := plot.New()
	p.Title.Text = c.Title
	p.Y.Label.Text = c.YLabel
	p.Y.Min = 0
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	width := vg.Points(min(60, 240/float64(len(c.Series)*max(1, len(c.Groups)/3))))
	for i, s := range c.Series {
		if len(s.Values) != len(c.Groups) {
			return fmt.Errorf("%s: series %s has %d values for %d groups", c.Title, s.Name, len(s.Values), len(c.Groups))
		}
		bars, err := plotter.NewBarChart(plotter.Values(s.Values), width)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Title, err)
		}
		bars.LineStyle.Width = vg.Length(0)
		bars.Color = palette[i%len(palette)]
		bars.Offset = width * vg.Length(float64(i)-float64(len(c.Series)-1)/2)
		p.Add(bars)
		p.Legend.Add(s.Name, bars)
	}
	p.NominalX(c.Groups...)
	p.X.Min, p.X.Max = -0.6, float64(len(c.Groups))-0.4
	top := 0.0
	for _, s := range c.Series {
		for _, v := range s.Values {
			top = max(top, v)
		}
	}
	p.Y.Max = top * 1.2 // room for the legend
	w := vg.Points(float64(max(480, 110*len(c.Groups)+160)))
	if err := p.Save(w, 320, path); err != nil {
		return fmt.Errorf("%s: %w", c.Title, err)
	}
	return nil
}
