package dev.nightshift.engine;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What to fix when ONNX Runtime cannot add its CUDA provider, the most common failure of any JVM GPU stack: the
 * provider library loads the CUDA runtime, cuBLAS and cuDNN at run time, and the loader's message naming the one it
 * could not find is buried in ONNX Runtime's. This names the library, the package it belongs to, the versions ONNX
 * Runtime 1.29's CUDA provider is built for (CUDA 12.x and cuDNN 9.x: ONNX Runtime's CUDA execution provider
 * requirements, 1.19 and later) and how to check them.
 */
final class CudaProblem {

    /** CUDA 12 and cuDNN 9 sonames the CUDA provider links against, and what installs each. */
    private static final Map<String, String> PACKAGES = Map.ofEntries(
            Map.entry("libcudart", "the CUDA 12 runtime (cuda-cudart-12-x)"),
            Map.entry("libcublas", "cuBLAS for CUDA 12 (libcublas-12-x)"),
            Map.entry("libcublasLt", "cuBLAS for CUDA 12 (libcublas-12-x)"),
            Map.entry("libcudnn", "cuDNN 9 for CUDA 12 (libcudnn9-cuda-12)"),
            Map.entry("libcufft", "cuFFT for CUDA 12 (libcufft-12-x)"),
            Map.entry("libcurand", "cuRAND for CUDA 12 (libcurand-12-x)"),
            Map.entry("libnvrtc", "NVRTC for CUDA 12 (cuda-nvrtc-12-x)"),
            Map.entry("libcuda", "the NVIDIA driver (libcuda comes with the driver, not the toolkit)"));

    private static final Pattern MISSING = Pattern.compile("(lib[A-Za-z0-9_+-]+)(\\.so[.0-9]*): cannot open shared object file");

    static final String CHECK = "check with `nvidia-smi` (driver, and the CUDA version it supports) and "
            + "`ldconfig -p | grep -E 'libcudart|libcublas|libcudnn'`; on Spark set spark.executorEnv.LD_LIBRARY_PATH";

    private CudaProblem() {
    }

    /**
     * One sentence for a CUDA provider that failed to load with {@code message}: the CPU-only build when this ONNX
     * Runtime lacks the provider ({@code cudaInBuild} false: ONNX Runtime's own list of providers), else the missing
     * library and its package when the loader named one, else ONNX Runtime's own words; always with the versions
     * needed and how to check them.
     */
    static String explain(String message, boolean cudaInBuild) {
        String text = message == null ? "" : message.strip();
        if (!cudaInBuild) {
            return "this ONNX Runtime is the CPU-only build (" + text + "): build with `mvn -Pgpu` "
                    + "(com.microsoft.onnxruntime:onnxruntime_gpu) and run on nodes with CUDA 12.x and cuDNN 9.x";
        }
        Matcher missing = MISSING.matcher(text);
        if (missing.find()) {
            String library = missing.group(1) + missing.group(2);
            String what = PACKAGES.getOrDefault(missing.group(1), "a library of the CUDA 12 / cuDNN 9 stack");
            return "the CUDA provider cannot load " + library + " (" + what + "): install it and put its folder on "
                    + "LD_LIBRARY_PATH; ONNX Runtime 1.29's CUDA provider needs CUDA 12.x and cuDNN 9.x; " + CHECK;
        }
        return "the CUDA provider failed: " + text + "; ONNX Runtime 1.29's CUDA provider needs CUDA 12.x and "
                + "cuDNN 9.x; " + CHECK;
    }
}
