package dev.nightshift.executor;

import dev.nightshift.engine.EngineOptions;
import dev.nightshift.engine.ModelSettings;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import scala.jdk.javaapi.CollectionConverters;

import java.util.Map;
import java.util.OptionalInt;

/**
 * The CUDA device a Spark task's engine runs on: the GPU Spark's scheduler assigned to the task
 * ({@code spark.task.resource.gpu.amount}, addresses from the executor's discovery script, see
 * {@code conf/gpu/}), not always device 0, so two executors (or two tasks) sharing a machine use different GPUs.
 * The engine holder keys engines by their settings, device included, so each executor JVM opens one engine per
 * (model, device). Without an assigned GPU (CPU models, local mode, no resource configured) the settings stay as
 * configured.
 */
public final class TaskGpu {

    /** Spark's resource name for GPUs. */
    public static final String RESOURCE = "gpu";

    private TaskGpu() {
    }

    /** The settings the running task's engine opens with (as given outside a Spark task or for a CPU model). */
    public static ModelSettings settingsFor(ModelSettings model) {
        TaskContext task = TaskContext.get();
        if (task == null || !model.engineOptions().provider().equals("cuda")) {
            return model;
        }
        return withDevice(model, deviceId(CollectionConverters.asJava(task.resources())));
    }

    /** The settings with the device set, when there is one. */
    static ModelSettings withDevice(ModelSettings model, OptionalInt device) {
        if (device.isEmpty()) {
            return model;
        }
        EngineOptions options = model.engineOptions();
        return new ModelSettings(model.path(), options.withDevice(device.getAsInt(), options.requireGpu()));
    }

    /**
     * The first GPU address assigned to a task, as a CUDA device number.
     *
     * @param resources the task's resources ({@code TaskContext.resources()})
     * @throws IllegalArgumentException when the address is not a device number (a discovery script that prints
     *                                  UUIDs): the message says to print indices
     */
    static OptionalInt deviceId(Map<String, ResourceInformation> resources) {
        ResourceInformation gpus = resources.get(RESOURCE);
        if (gpus == null || gpus.addresses().length == 0) {
            return OptionalInt.empty();
        }
        String address = gpus.addresses()[0].strip();
        try {
            int id = Integer.parseInt(address);
            if (id < 0) {
                throw new NumberFormatException();
            }
            return OptionalInt.of(id);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Spark assigned this task GPU address '" + address + "', which is not a "
                    + "CUDA device number; make the GPU discovery script print device indices (conf/gpu/"
                    + "getGpusResources.sh does)");
        }
    }
}
