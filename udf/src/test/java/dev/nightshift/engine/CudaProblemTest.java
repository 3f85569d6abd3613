package dev.nightshift.engine;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A CUDA provider that fails to load is explained by the library it lacks, its package and the versions needed. */
class CudaProblemTest {

    @Test
    void aMissingLibraryNamedByTheLoaderIsNamedWithItsPackage() {
        // the form ONNX Runtime's provider bridge reports (GPU build on a node without cuDNN 9)
        String ort = "Error code - ORT_RUNTIME_EXCEPTION - message: /onnxruntime_src/onnxruntime/core/session/"
                + "provider_bridge_ort.cc:1539 onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] "
                + ": 1 : FAIL : Failed to load library libonnxruntime_providers_cuda.so with error: libcudnn.so.9: cannot "
                + "open shared object file: No such file or directory";
        String explained = CudaProblem.explain(ort, true);
        assertTrue(explained.startsWith("the CUDA provider cannot load libcudnn.so.9 (cuDNN 9 for CUDA 12 (libcudnn9-cuda-12)): "
                + "install it and put its folder on LD_LIBRARY_PATH; ONNX Runtime 1.29's CUDA provider needs CUDA 12.x and "
                + "cuDNN 9.x; check with `nvidia-smi`"), explained);
        // the form the JVM reports when System.load of the extracted provider library fails
        String jvm = "/tmp/onnxruntime-java123/libonnxruntime_providers_cuda.so: libcublasLt.so.12: cannot open shared "
                + "object file: No such file or directory";
        assertTrue(CudaProblem.explain(jvm, true).startsWith("the CUDA provider cannot load libcublasLt.so.12 (cuBLAS for CUDA 12"),
                CudaProblem.explain(jvm, true));
        assertTrue(CudaProblem.explain("libfoo.so.3: cannot open shared object file", true)
                .contains("libfoo.so.3 (a library of the CUDA 12 / cuDNN 9 stack)"));
    }

    @Test
    void aBuildWithoutTheCudaProviderIsNamedAsSuch() {
        assertEquals("this ONNX Runtime is the CPU-only build (Error code - ORT_EP_FAIL - message: Failed to find CUDA "
                + "shared provider): build with `mvn -Pgpu` (com.microsoft.onnxruntime:onnxruntime_gpu) and run on nodes "
                + "with CUDA 12.x and cuDNN 9.x",
                CudaProblem.explain("Error code - ORT_EP_FAIL - message: Failed to find CUDA shared provider", false));
    }

    @Test
    void otherFailuresKeepOrtsWordsAndSayWhatToCheck() {
        String explained = CudaProblem.explain("CUDA failure 100: no CUDA-capable device is detected", true);
        assertEquals("the CUDA provider failed: CUDA failure 100: no CUDA-capable device is detected; ONNX Runtime 1.29's "
                + "CUDA provider needs CUDA 12.x and cuDNN 9.x; " + CudaProblem.CHECK, explained);
    }
}
