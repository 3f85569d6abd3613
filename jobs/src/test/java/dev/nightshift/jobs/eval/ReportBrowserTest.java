package dev.nightshift.jobs.eval;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The HTML report as people see it: opened in a real headless browser (Debian's chromium), screenshotted, and the
 * screenshot checked for the charts' pixels. Without chromium the test is skipped with the reason, unless
 * NIGHTSHIFT_BROWSER_TESTS=required (set by .ci/run), where it fails.
 */
class ReportBrowserTest {

    @Test
    void theReportRendersItsChartsInAHeadlessBrowser(@TempDir Path dir) throws Exception {
        String browser = browser();
        Path html = dir.resolve("report.html");
        HtmlReport.write(html, ReportFixtures.report(List.of(
                new QualityGates.Outcome("min_accuracy", "accuracy", 0.9, 0.65, false))));
        String page = Files.readString(html);
        assertTrue(page.contains("data:image/png;base64,"), "charts are embedded");
        assertTrue(!page.contains("http://") && !page.contains("https://"), "nothing to fetch from the network");
        assertEquals(4, page.split("<img ", -1).length - 1, "cost/quality, confusion, per-class F1, calibration");

        Path shot = dir.resolve("shot.png");
        Process process = new ProcessBuilder(browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + Files.createDirectory(dir.resolve("profile")), "--screenshot=" + shot,
                "--window-size=1200,2000", html.toUri().toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("chromium.log").toFile()).start();
        if (!process.waitFor(90, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail("chromium did not finish in 90 s: " + Files.readString(dir.resolve("chromium.log")));
        }
        assertTrue(Files.size(shot) > 0, "no screenshot: " + Files.readString(dir.resolve("chromium.log")));
        BufferedImage image = ImageIO.read(shot.toFile());
        assertEquals(1200, image.getWidth());

        // The charts' colours: the candidates' blue and orange (scatter, bars, calibration) and the heat map's cells.
        int blue = count(image, new Color(0x1f77b4));
        int orange = count(image, new Color(0xff7f0e));
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y += 2) {
            for (int x = 0; x < image.getWidth(); x += 2) {
                colours.add(image.getRGB(x, y) & 0xffffff);
            }
        }
        assertTrue(blue > 500, "Nightshift's blue pixels: " + blue);
        assertTrue(orange > 500, "the candidate's orange pixels: " + orange);
        assertTrue(colours.size() > 200, "a rendered page with charts has many colours, got " + colours.size());
    }

    private static int count(BufferedImage image, Color colour) {
        int n = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                Color c = new Color(image.getRGB(x, y));
                if (Math.abs(c.getRed() - colour.getRed()) + Math.abs(c.getGreen() - colour.getGreen())
                        + Math.abs(c.getBlue() - colour.getBlue()) < 30) {
                    n++;
                }
            }
        }
        return n;
    }

    /** chromium on the PATH; skipped (or failed under NIGHTSHIFT_BROWSER_TESTS=required) when there is none. */
    private static String browser() {
        for (String name : List.of("chromium", "chromium-browser")) {
            for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
                if (Files.isExecutable(Path.of(dir, name))) {
                    return Path.of(dir, name).toString();
                }
            }
        }
        String reason = "no chromium on the PATH (apt-get install -y chromium); the report's browser check did not run";
        if ("required".equals(System.getenv("NIGHTSHIFT_BROWSER_TESTS"))) {
            fail(reason + ", and NIGHTSHIFT_BROWSER_TESTS=required");
        }
        Assumptions.abort(reason);
        return null;
    }
}
