package io.flinkmamba.examples.demo;

import io.flinkmamba.connectors.avro.AnomalyScore;
import io.flinkmamba.examples.generator.AnomalyKind;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The demo's report: one self-contained HTML page (inline SVG, no scripts or downloads) with the
 * run's precision/recall/F1, recall per anomaly kind, and plots of a few streams: the first channel's
 * values, the forecast with a band of two forecast standard deviations, the true anomaly episodes
 * shaded, flagged events marked, and the anomaly likelihood with the threshold. The figures are also
 * written as {@code metrics.json} next to it and embedded in the page as JSON ({@code id="metrics"}).
 */
final class HtmlReport {
    /** One plotted event: the score record and the generator's label for it. */
    record Row(AnomalyScore score, AnomalyKind label) {}

    private static final int W = 960, H_VALUES = 220, H_LIKELIHOOD = 90, PAD = 40;

    private HtmlReport() {
    }

    static Path write(Path dir, Map<String, String> run, Evaluation evaluation, Map<String, List<Row>> plotted,
                      double threshold) throws IOException {
        Files.createDirectories(dir);
        Evaluation.Counts c = evaluation.counts();
        String json = metricsJson(run, evaluation);
        Files.writeString(dir.resolve("metrics.json"), json);
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>flink-mamba demo report</title>\n")
         .append("<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}")
         .append("table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}")
         .append("th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.note{color:#555;font-size:90%}")
         .append("h2{margin-top:32px}</style></head><body>\n")
         .append("<h1>flink-mamba demo: sensor anomaly scoring</h1>\n<table>");
        for (Map.Entry<String, String> e : run.entrySet()) {
            h.append("<tr><th>").append(esc(e.getKey())).append("</th><td>").append(esc(e.getValue())).append("</td></tr>");
        }
        h.append("</table>\n<h2>Detection against the labels</h2>\n<table>")
         .append("<tr><th>metric</th><th>value</th></tr>")
         .append(row("precision", fmt(c.precision()))).append(row("recall", fmt(c.recall()))).append(row("F1", fmt(c.f1())))
         .append(row("scored events", Long.toString(evaluation.events())))
         .append(row("flagged events", Long.toString(c.flagged())))
         .append(row("flagged inside an episode window", Long.toString(c.truePositives())))
         .append(row("anomaly episodes", Integer.toString(c.episodes())))
         .append(row("episodes detected", Integer.toString(c.detected())))
         .append("</table>\n<table><tr><th>anomaly kind</th><th>episodes</th><th>detected</th><th>recall</th></tr>");
        for (Map.Entry<AnomalyKind, int[]> e : evaluation.byKind().entrySet()) {
            int[] k = e.getValue();
            h.append("<tr><td>").append(e.getKey()).append("</td><td>").append(k[0]).append("</td><td>").append(k[1])
             .append("</td><td>").append(fmt(k[0] == 0 ? 0 : (double) k[1] / k[0])).append("</td></tr>");
        }
        h.append("</table>\n<p class=\"note\"><b>Event-window rule.</b> Per stream, an anomaly episode is a maximal run of ")
         .append("consecutive labelled events of one kind; its window is the episode plus the ").append(evaluation.window())
         .append(" events after it. A flagged event inside some episode's window is a true positive, any other flagged ")
         .append("event a false positive (precision = true positives / flagged events). An episode is detected when at ")
         .append("least one event of its window is flagged (recall = detected episodes / episodes). Only events read back ")
         .append("from the output topic (read_committed) count; episodes starting during a stream's warm-up are left out. ")
         .append("An event is flagged when its anomaly likelihood is at least ").append(threshold).append(".</p>\n");
        h.append("<h2>Streams</h2>\n");
        for (Map.Entry<String, List<Row>> e : plotted.entrySet()) {
            h.append("<h3 class=\"stream\">").append(esc(e.getKey())).append("</h3>\n").append(svg(e.getValue(), threshold));
        }
        h.append("<p class=\"note\">Top: channel v0 (black), the forecast made before each event (blue) with a band of ")
         .append("two forecast standard deviations, true anomaly episodes shaded (orange, labelled with the kind), flagged ")
         .append("events as red dots. Bottom: anomaly likelihood (green) and the threshold (dashed).</p>\n")
         .append("<script type=\"application/json\" id=\"metrics\">").append(json).append("</script>\n</body></html>\n");
        Path index = dir.resolve("index.html");
        Files.writeString(index, h.toString());
        return index;
    }

    static String metricsJson(Map<String, String> run, Evaluation evaluation) {
        Evaluation.Counts c = evaluation.counts();
        return String.format(Locale.ROOT,
                "{\"precision\": %.6f, \"recall\": %.6f, \"f1\": %.6f, \"scoredEvents\": %d, \"flagged\": %d, "
                        + "\"truePositives\": %d, \"episodes\": %d, \"detected\": %d, \"window\": %d, \"modelVersion\": \"%s\"}",
                c.precision(), c.recall(), c.f1(), evaluation.events(), c.flagged(), c.truePositives(), c.episodes(),
                c.detected(), evaluation.window(), jsonEsc(run.getOrDefault("model version", "")));
    }

    private static String svg(List<Row> rows, double threshold) {
        int n = rows.size();
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (Row r : rows) {
            double v = r.score().getInput().get(0);
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
            if (!r.score().getWarmingUp() && !r.score().getForecast().isEmpty()) {
                double f = r.score().getForecast().get(0), s = std(r.score());
                lo = Math.min(lo, f - 2 * s);
                hi = Math.max(hi, f + 2 * s);
            }
        }
        double span = hi - lo == 0 ? 1 : hi - lo;
        lo -= 0.05 * span;
        hi += 0.05 * span;
        int height = H_VALUES + H_LIKELIHOOD + 20;
        StringBuilder s = new StringBuilder();
        s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(W).append("\" height=\"").append(height)
         .append("\" viewBox=\"0 0 ").append(W).append(' ').append(height).append("\">")
         .append("<rect x=\"0\" y=\"0\" width=\"").append(W).append("\" height=\"").append(height).append("\" fill=\"#fff\"/>");
        // episodes
        int i = 0;
        while (i < n) {
            AnomalyKind kind = rows.get(i).label();
            if (kind == null) {
                i++;
                continue;
            }
            int start = i;
            while (i < n && rows.get(i).label() == kind) {
                i++;
            }
            double x0 = x(start - 0.5, n), x1 = x(i - 0.5, n);
            s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"0\" width=\"%.1f\" height=\"%d\" fill=\"#ffa500\" opacity=\"0.25\"/>",
                    x0, Math.max(2, x1 - x0), H_VALUES + 20 + H_LIKELIHOOD));
            s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"12\" font-size=\"10\" fill=\"#a60\">%s</text>", x0, kind));
        }
        // forecast band and line (only where there is a forecast)
        StringBuilder upper = new StringBuilder(), lower = new StringBuilder(), forecast = new StringBuilder(), values = new StringBuilder();
        for (int j = 0; j < n; j++) {
            AnomalyScore sc = rows.get(j).score();
            values.append(String.format(Locale.ROOT, "%.1f,%.1f ", x(j, n), y(sc.getInput().get(0), lo, hi)));
            if (sc.getEventsSeen() > 1 && !sc.getForecast().isEmpty()) {
                double f = sc.getForecast().get(0), sd = std(sc);
                upper.append(String.format(Locale.ROOT, "%.1f,%.1f ", x(j, n), y(f + 2 * sd, lo, hi)));
                lower.insert(0, String.format(Locale.ROOT, "%.1f,%.1f ", x(j, n), y(f - 2 * sd, lo, hi)));
                forecast.append(String.format(Locale.ROOT, "%.1f,%.1f ", x(j, n), y(f, lo, hi)));
            }
        }
        if (forecast.length() > 0) {
            s.append("<polygon points=\"").append(upper).append(lower).append("\" fill=\"#4a7bd0\" opacity=\"0.18\"/>")
             .append("<polyline points=\"").append(forecast).append("\" fill=\"none\" stroke=\"#4a7bd0\" stroke-width=\"1\"/>");
        }
        s.append("<polyline points=\"").append(values).append("\" fill=\"none\" stroke=\"#222\" stroke-width=\"1\"/>");
        for (int j = 0; j < n; j++) {
            AnomalyScore sc = rows.get(j).score();
            if (sc.getIsAnomaly()) {
                s.append(String.format(Locale.ROOT, "<circle class=\"flag\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#d00\"/>",
                        x(j, n), y(sc.getInput().get(0), lo, hi)));
            }
        }
        // likelihood panel
        int top = H_VALUES + 20;
        StringBuilder lik = new StringBuilder();
        for (int j = 0; j < n; j++) {
            lik.append(String.format(Locale.ROOT, "%.1f,%.1f ", x(j, n), top + (1 - rows.get(j).score().getAnomalyLikelihood()) * H_LIKELIHOOD));
        }
        double ty = top + (1 - threshold) * H_LIKELIHOOD;
        s.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>",
                        PAD, W - 10, ty, ty))
         .append("<polyline points=\"").append(lik).append("\" fill=\"none\" stroke=\"#2a2\" stroke-width=\"1\"/>")
         .append(String.format(Locale.ROOT, "<text x=\"2\" y=\"%d\" font-size=\"10\">likelihood</text>", top + 10))
         .append(String.format(Locale.ROOT, "<text x=\"2\" y=\"12\" font-size=\"10\">%.3g</text>", hi))
         .append(String.format(Locale.ROOT, "<text x=\"2\" y=\"%d\" font-size=\"10\">%.3g</text>", H_VALUES, lo))
         .append("</svg>\n");
        return s.toString();
    }

    private static double std(AnomalyScore s) {
        return s.getForecastStd().isEmpty() ? 0 : s.getForecastStd().get(0);
    }

    private static double x(double j, int n) {
        return PAD + (W - PAD - 10) * (n <= 1 ? 0.5 : j / (n - 1));
    }

    private static double y(double v, double lo, double hi) {
        return 5 + (H_VALUES - 5) * (1 - (v - lo) / (hi - lo));
    }

    private static String row(String name, String value) {
        return "<tr><td>" + name + "</td><td class=\"metric\">" + value + "</td></tr>";
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private static String jsonEsc(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }
}
