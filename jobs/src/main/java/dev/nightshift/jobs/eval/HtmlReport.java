package dev.nightshift.jobs.eval;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.LookupPaintScale;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.PaintScaleLegend;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.DefaultXYZDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.Color;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

/**
 * The evaluation as one self-contained HTML file: charts drawn with JFreeChart as PNG images embedded as
 * {@code data:} URIs (no network, no scripts), then the figures as tables. Charts: cost per 1,000 rows against
 * quality for every candidate; for single-label classify, Nightshift's confusion matrix as a heat map, per-class F1
 * bars per candidate and the calibration curves; for the other kinds, the quality metrics per candidate as bars.
 */
public final class HtmlReport {

    static final int WIDTH = 760;
    static final int HEIGHT = 460;
    private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c),
            new Color(0xd62728), new Color(0x9467bd), new Color(0x8c564b)};

    private HtmlReport() {
    }

    public static void write(Path file, EvalReport report) throws IOException {
        System.setProperty("java.awt.headless", "true");
        StringBuilder html = new StringBuilder();
        html.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Nightshift eval: ")
                .append(escape(report.task())).append("</title>\n<style>body{font-family:sans-serif;margin:24px;max-width:1100px}"
                        + "table{border-collapse:collapse;margin:8px 0 24px}td,th{border:1px solid #ccc;padding:3px 8px;"
                        + "text-align:right}th:first-child,td:first-child{text-align:left}.fail{color:#b00;font-weight:bold}"
                        + ".pass{color:#070}img{display:block;margin:8px 0 24px;border:1px solid #ddd}</style></head><body>\n");
        html.append("<h1>Evaluation of task ").append(escape(report.task())).append(" (").append(escape(report.kind()))
                .append(")</h1>\n<p>Job ").append(escape(report.job())).append(", eval ").append(escape(report.evalId()))
                .append(", ").append(report.sampled()).append(" sampled documents (smallest sha256 of the id), gold column <code>")
                .append(escape(report.goldColumn())).append("</code>.</p>\n");
        if (!report.gates().isEmpty()) {
            html.append("<h2>Quality gates</h2><ul>");
            for (QualityGates.Outcome gate : report.gates()) {
                html.append("<li class=\"").append(gate.passed() ? "pass" : "fail").append("\">").append(escape(gate.gate()))
                        .append(" — ").append(escape(gate.describe())).append("</li>");
            }
            html.append("</ul>\n");
        }
        for (String note : report.notes()) {
            html.append("<p><b>Note:</b> ").append(escape(note)).append("</p>\n");
        }
        html.append("<h2>Cost and quality</h2>\n").append(image(costQuality(report), "cost per 1,000 rows against quality"));
        CandidateResult own = report.candidates().get(0);
        if (own.classify() != null) {
            html.append("<h2>Confusion matrix (").append(escape(own.name())).append(")</h2>\n")
                    .append(image(confusion(own), "confusion matrix heat map"));
            html.append("<h2>Per-class F1</h2>\n").append(image(perClassF1(report), "per-class F1 bars"));
            html.append("<h2>Calibration</h2>\n").append(image(calibration(report), "calibration curve"));
        } else {
            html.append("<h2>Quality by candidate</h2>\n").append(image(qualityBars(report), "quality metrics per candidate"));
        }
        html.append("<h2>Figures</h2>\n<table><tr><th>metric</th>");
        for (CandidateResult c : report.candidates()) {
            html.append("<th>").append(escape(c.name())).append("</th>");
        }
        html.append("</tr>\n");
        for (Metric m : own.metrics()) {
            html.append("<tr><td>").append(escape(m.name())).append("</td>");
            for (CandidateResult c : report.candidates()) {
                html.append("<td>").append(format(c.metric(m.name()))).append("</td>");
            }
            html.append("</tr>\n");
        }
        html.append("</table>\n</body></html>\n");
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, html.toString(), StandardCharsets.UTF_8);
    }

    static String format(double value) {
        return Double.isNaN(value) ? "–" : value == Math.rint(value) && Math.abs(value) < 1e12
                ? String.format(Locale.ROOT, "%,d", (long) value) : String.format(Locale.ROOT, "%.4f", value);
    }

    private static String image(JFreeChart chart, String alt) throws IOException {
        byte[] png = ChartUtils.encodeAsPNG(chart.createBufferedImage(WIDTH, HEIGHT));
        return "<img alt=\"" + escape(alt) + "\" width=\"" + WIDTH + "\" height=\"" + HEIGHT + "\" src=\"data:image/png;base64,"
                + Base64.getEncoder().encodeToString(png) + "\">\n";
    }

    private static JFreeChart costQuality(EvalReport report) {
        XYSeriesCollection data = new XYSeriesCollection();
        for (CandidateResult c : report.candidates()) {
            XYSeries series = new XYSeries(c.name());
            double cost = c.metric("cost_per_1k_rows_usd");
            double quality = c.qualityValue();
            if (!Double.isNaN(cost) && !Double.isNaN(quality)) {
                series.add(cost, quality);
            }
            data.addSeries(series);
        }
        String quality = report.candidates().get(0).quality();
        JFreeChart chart = ChartFactory.createScatterPlot("Cost vs quality", "USD per 1,000 rows", quality, data);
        XYPlot plot = chart.getXYPlot();
        XYLineAndShapeRenderer renderer = (XYLineAndShapeRenderer) plot.getRenderer();
        for (int i = 0; i < data.getSeriesCount(); i++) {
            renderer.setSeriesPaint(i, COLORS[i % COLORS.length]);
            renderer.setSeriesShape(i, new java.awt.geom.Ellipse2D.Double(-7, -7, 14, 14));
        }
        ((NumberAxis) plot.getRangeAxis()).setRange(0, 1.05);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    private static JFreeChart confusion(CandidateResult own) {
        ClassifyMetrics.Result r = own.classify();
        List<String> labels = r.labels();
        int k = labels.size();
        double[][] series = new double[3][k * (k + 1)];
        int max = 1;
        for (int g = 0; g < k; g++) {
            for (int p = 0; p <= k; p++) {
                int i = g * (k + 1) + p;
                series[0][i] = p;
                series[1][i] = g;
                series[2][i] = r.confusion()[g][p];
                max = Math.max(max, r.confusion()[g][p]);
            }
        }
        DefaultXYZDataset data = new DefaultXYZDataset();
        data.addSeries("rows", series);
        String[] predicted = new String[k + 1];
        for (int p = 0; p < k; p++) {
            predicted[p] = labels.get(p);
        }
        predicted[k] = "(error)";
        SymbolAxis x = new SymbolAxis("predicted", predicted);
        SymbolAxis y = new SymbolAxis("gold", labels.toArray(String[]::new));
        y.setInverted(true);
        XYBlockRenderer renderer = new XYBlockRenderer();
        LookupPaintScale scale = new LookupPaintScale(0, max + 1, Color.WHITE);
        for (int v = 0; v <= max; v++) {
            float t = (float) v / max;
            scale.add(v, new Color(1 - 0.85f * t, 1 - 0.6f * t, 1 - 0.25f * t));
        }
        renderer.setPaintScale(scale);
        XYPlot plot = new XYPlot(data, x, y, renderer);
        JFreeChart chart = new JFreeChart("Confusion matrix: rows per (gold, predicted)", plot);
        chart.removeLegend();
        NumberAxis scaleAxis = new NumberAxis("rows");
        scaleAxis.setRange(0, max + 1);
        PaintScaleLegend legend = new PaintScaleLegend(scale, scaleAxis);
        legend.setPosition(RectangleEdge.RIGHT);
        chart.addSubtitle(legend);
        for (int g = 0; g < k; g++) {
            for (int p = 0; p <= k; p++) {
                int count = r.confusion()[g][p];
                if (count > 0) {
                    org.jfree.chart.annotations.XYTextAnnotation text =
                            new org.jfree.chart.annotations.XYTextAnnotation(Integer.toString(count), p, g);
                    text.setFont(new java.awt.Font("SansSerif", java.awt.Font.BOLD, 14));
                    plot.addAnnotation(text);
                }
            }
        }
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    private static JFreeChart perClassF1(EvalReport report) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (CandidateResult c : report.candidates()) {
            for (String label : report.candidates().get(0).classify().labels()) {
                data.addValue(nanToZero(c.metric("f1[" + label + "]")), c.name(), label);
            }
        }
        JFreeChart chart = ChartFactory.createBarChart("F1 per class", "class", "F1", data, PlotOrientation.VERTICAL,
                true, false, false);
        chart.getCategoryPlot().getRangeAxis().setRange(0, 1.05);
        colour(chart);
        return chart;
    }

    private static JFreeChart calibration(EvalReport report) {
        XYSeriesCollection data = new XYSeriesCollection();
        XYSeries diagonal = new XYSeries("perfect calibration");
        diagonal.add(0, 0);
        diagonal.add(1, 1);
        data.addSeries(diagonal);
        for (CandidateResult c : report.candidates()) {
            XYSeries series = new XYSeries(c.name() + " (ECE " + format(c.metric("ece")) + ")");
            if (c.classify() != null) {
                for (ClassifyMetrics.Bin bin : c.classify().bins()) {
                    if (bin.rows() > 0) {
                        series.add(bin.meanScore(), bin.accuracy());
                    }
                }
            }
            data.addSeries(series);
        }
        JFreeChart chart = ChartFactory.createXYLineChart("Calibration: accuracy per score bin", "mean score of the bin",
                "accuracy of the bin", data);
        XYPlot plot = chart.getXYPlot();
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
        renderer.setSeriesPaint(0, Color.GRAY);
        for (int i = 1; i < data.getSeriesCount(); i++) {
            renderer.setSeriesPaint(i, COLORS[(i - 1) % COLORS.length]);
            renderer.setSeriesStroke(i, new java.awt.BasicStroke(3f));
        }
        plot.setRenderer(renderer);
        plot.getDomainAxis().setRange(0, 1);
        plot.getRangeAxis().setRange(0, 1.05);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    private static JFreeChart qualityBars(EvalReport report) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        CandidateResult own = report.candidates().get(0);
        List<String> names = own.metrics().stream().map(Metric::name)
                .filter(n -> n.startsWith("rouge") || n.startsWith("field_") || n.equals("exact_mean")
                        || n.equals("schema_validity") || n.endsWith("_f1") || n.equals("subset_accuracy")).toList();
        for (CandidateResult c : report.candidates()) {
            for (String name : names) {
                data.addValue(nanToZero(c.metric(name)), c.name(), name);
            }
        }
        JFreeChart chart = ChartFactory.createBarChart("Quality by candidate", "metric", "value", data,
                PlotOrientation.VERTICAL, true, false, false);
        chart.getCategoryPlot().getRangeAxis().setRange(0, 1.05);
        colour(chart);
        return chart;
    }

    private static void colour(JFreeChart chart) {
        chart.setBackgroundPaint(Color.WHITE);
        var renderer = chart.getCategoryPlot().getRenderer();
        for (int i = 0; i < COLORS.length; i++) {
            renderer.setSeriesPaint(i, COLORS[i]);
        }
        ((org.jfree.chart.renderer.category.BarRenderer) renderer)
                .setBarPainter(new org.jfree.chart.renderer.category.StandardBarPainter());
    }

    private static double nanToZero(double value) {
        return Double.isNaN(value) ? 0 : value;
    }

    static String escape(String text) {
        return text == null ? "" : text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
