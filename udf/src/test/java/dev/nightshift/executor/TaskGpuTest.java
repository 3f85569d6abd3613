package dev.nightshift.executor;

import dev.nightshift.engine.EngineOptions;
import dev.nightshift.engine.ModelSettings;
import org.apache.spark.resource.ResourceInformation;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A task's assigned GPU becomes its engine's CUDA device; tasks on different GPUs get different engine keys. */
class TaskGpuTest {

    private static Map<String, ResourceInformation> gpus(String... addresses) {
        return Map.of(TaskGpu.RESOURCE, new ResourceInformation(TaskGpu.RESOURCE, addresses));
    }

    @Test
    void theFirstAssignedAddressIsTheDevice() {
        assertEquals(OptionalInt.of(1), TaskGpu.deviceId(gpus("1")));
        assertEquals(OptionalInt.of(3), TaskGpu.deviceId(gpus(" 3 ", "4")));
        assertEquals(OptionalInt.empty(), TaskGpu.deviceId(Map.of()));
        assertEquals(OptionalInt.empty(), TaskGpu.deviceId(gpus()));
        IllegalArgumentException uuid = assertThrows(IllegalArgumentException.class,
                () -> TaskGpu.deviceId(gpus("GPU-8a1f")));
        assertTrue(uuid.getMessage().contains("print device indices"), uuid.getMessage());
    }

    @Test
    void theShippedDiscoveryScriptPrintsWhatSparkReads() throws Exception {
        Path script = Path.of("..", "conf", "gpu", "getGpusResources.sh").toAbsolutePath().normalize();
        ProcessBuilder builder = new ProcessBuilder("bash", script.toString()).redirectErrorStream(true);
        builder.environment().put("NIGHTSHIFT_GPUS", "0,1");
        Process process = builder.start();
        String json = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertEquals(0, process.waitFor(), json);
        ResourceInformation parsed = ResourceInformation.parseJson(json);  // what Spark's worker does with it
        assertEquals(TaskGpu.RESOURCE, parsed.name());
        assertEquals(List.of("0", "1"), List.of(parsed.addresses()));
    }

    @Test
    void eachDeviceGetsItsOwnEngineSettings() {
        ModelSettings model = new ModelSettings("/models/m", EngineOptions.defaults().withProvider("cuda")
                .withDevice(0, true));
        ModelSettings zero = TaskGpu.withDevice(model, TaskGpu.deviceId(gpus("0")));
        ModelSettings one = TaskGpu.withDevice(model, TaskGpu.deviceId(gpus("1")));
        assertEquals(1, one.engineOptions().deviceId());
        assertTrue(one.engineOptions().requireGpu(), "require_gpu is kept");
        assertEquals(model, zero);
        assertNotEquals(zero, one, "the engine holder's key: one engine per (model, device)");
        assertSame(model, TaskGpu.withDevice(model, OptionalInt.empty()));
        // outside a Spark task (or for a CPU model) the settings are as configured
        assertSame(model, TaskGpu.settingsFor(model));
    }
}
