package dev.nightshift.engine;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import com.sun.jna.Function;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The few functions of ONNX Runtime's C API ({@code onnxruntime_c_api.h}) that its Java API lacks, reached through JNA
 * in the library the Java API already loaded: allocating tensor memory with a session's allocator for a device
 * ({@code CreateMemoryInfo("Cuda", ...)}, {@code CreateAllocator}, {@code AllocatorAlloc}) and wrapping such memory as
 * an {@link OnnxTensor} ({@code CreateTensorWithDataAsOrtValue}). That is what keeps a KV cache on the GPU: ONNX Runtime's
 * Java API has no IoBinding and creates every tensor in host memory.
 *
 * <p><b>How functions are found.</b> {@code OrtGetApiBase()} is the library's one exported symbol; its
 * {@code GetApi(version)} returns {@code struct OrtApi}, a table of function pointers that ONNX Runtime only ever
 * appends to, so a function's slot (its index in the table) is fixed from the API version that introduced it. The slots
 * below are those of {@code onnxruntime_c_api.h} (all present since API version 4). At start-up the table is asked for
 * {@link #API_VERSION}: a library too old to have it answers NULL, which becomes a clear error naming the loaded
 * library's version; {@link #check} also round-trips a status through {@code CreateStatus}/{@code GetErrorMessage} so that
 * a table that is not what these slots assume fails there, not in a tensor call.
 *
 * <p>Wrapping: {@link OnnxTensor}'s constructor from a native handle is package-private; it is reached by reflection
 * (ONNX Runtime 1.29's layout, checked when this class loads, with an error naming the version on mismatch). The
 * resulting tensor's {@code close()} releases the {@code OrtValue} as for any tensor; the memory under it stays with
 * whoever allocated it.
 */
final class OrtCApi {

    /** The C API version asked for: 16 (ONNX Runtime 1.16, the oldest release whose Java API takes pinned outputs). */
    static final int API_VERSION = 16;

    // slots of struct OrtApi (onnxruntime_c_api.h; counted from 0)
    private static final int CREATE_STATUS = 0;
    private static final int GET_ERROR_MESSAGE = 2;
    private static final int CREATE_TENSOR_WITH_DATA_AS_ORT_VALUE = 49;
    private static final int CREATE_MEMORY_INFO = 68;
    private static final int ALLOCATOR_ALLOC = 75;
    private static final int ALLOCATOR_FREE = 76;
    private static final int RELEASE_STATUS = 93;
    private static final int RELEASE_MEMORY_INFO = 94;
    private static final int CREATE_ALLOCATOR = 131;
    private static final int RELEASE_ALLOCATOR = 132;

    // enums of onnxruntime_c_api.h
    private static final int ORT_DEVICE_ALLOCATOR = 0;
    private static final int ORT_MEM_TYPE_DEFAULT = 0;
    private static final int ELEMENT_FLOAT = 1;
    private static final int ELEMENT_FLOAT16 = 10;

    private static OrtCApi instance;

    private final String version;
    private final Pointer api;

    private OrtCApi(String version, Pointer api) {
        this.version = version;
        this.api = api;
    }

    /**
     * The C API of the ONNX Runtime library this JVM loaded, checked.
     *
     * @throws IllegalStateException when the library cannot be found, is older than {@link #API_VERSION}, or its table
     *                               does not behave as the slots assume; the message names the library's version
     */
    static synchronized OrtCApi get() {
        if (instance == null) {
            OrtEnvironment.getEnvironment(); // the Java API loads the native library
            NativeLibrary library = NativeLibrary.getInstance(loadedLibrary());
            Pointer base = library.getFunction("OrtGetApiBase").invokePointer(new Object[0]);
            String version = Function.getFunction(base.getPointer(Native.POINTER_SIZE)).invokeString(new Object[0], false);
            Pointer api = Function.getFunction(base.getPointer(0)).invokePointer(new Object[]{API_VERSION});
            if (api == null) {
                throw new IllegalStateException("ONNX Runtime " + version + " does not provide C API version " + API_VERSION
                        + ", which the device-resident KV cache needs (ONNX Runtime 1.16 or later); use kv_cache host");
            }
            OrtCApi loaded = new OrtCApi(version, api);
            loaded.check();
            instance = loaded;
        }
        return instance;
    }

    /** The loaded library's version string, such as {@code 1.29.0}. */
    String version() {
        return version;
    }

    /**
     * Round-trips a message through {@code CreateStatus} and {@code GetErrorMessage} and releases it: slots 0, 2 and 93
     * answer as they should, or the table is not laid out as this class assumes.
     */
    void check() {
        String probe = "nightshift C API slot check";
        Pointer status = function(CREATE_STATUS).invokePointer(new Object[]{1, probe});
        String echoed = status == null ? null : function(GET_ERROR_MESSAGE).invokeString(new Object[]{status}, false);
        if (status != null) {
            function(RELEASE_STATUS).invokeVoid(new Object[]{status});
        }
        if (!probe.equals(echoed)) {
            throw new IllegalStateException("ONNX Runtime " + version + "'s C API table is not laid out as Nightshift expects"
                    + " (CreateStatus/GetErrorMessage did not round-trip); use kv_cache host or ONNX Runtime 1.29");
        }
    }

    /** An {@code OrtMemoryInfo} for {@code device} ("Cpu" or "Cuda") number {@code id}; release with {@link #releaseMemoryInfo}. */
    Pointer memoryInfo(String device, int id) {
        PointerByReference out = new PointerByReference();
        call("CreateMemoryInfo", CREATE_MEMORY_INFO, device, ORT_DEVICE_ALLOCATOR, id, ORT_MEM_TYPE_DEFAULT, out);
        return out.getValue();
    }

    void releaseMemoryInfo(Pointer info) {
        function(RELEASE_MEMORY_INFO).invokeVoid(new Object[]{info});
    }

    /** The allocator {@code session} uses for {@code memoryInfo}'s device; release with {@link #releaseAllocator}. */
    Pointer allocator(OrtSession session, Pointer memoryInfo) {
        PointerByReference out = new PointerByReference();
        call("CreateAllocator", CREATE_ALLOCATOR, new Pointer(sessionHandle(session)), memoryInfo, out);
        return out.getValue();
    }

    void releaseAllocator(Pointer allocator) {
        function(RELEASE_ALLOCATOR).invokeVoid(new Object[]{allocator});
    }

    /** {@code bytes} bytes from {@code allocator} (device memory for a device's allocator); free with {@link #free}. */
    Pointer allocate(Pointer allocator, long bytes) {
        PointerByReference out = new PointerByReference();
        call("AllocatorAlloc", ALLOCATOR_ALLOC, allocator, sizeT(bytes), out);
        return out.getValue();
    }

    void free(Pointer allocator, Pointer memory) {
        call("AllocatorFree", ALLOCATOR_FREE, allocator, memory);
    }

    /**
     * A tensor of {@code shape} and {@code type} (FLOAT or FLOAT16) over {@code data}, which lies where
     * {@code memoryInfo} says (a device pointer for a "Cuda" info). No copy: ONNX Runtime reads and writes {@code data};
     * closing the tensor leaves it allocated.
     */
    OnnxTensor tensor(Pointer memoryInfo, Pointer data, long[] shape, OnnxJavaType type) {
        long elements = 1;
        for (long dim : shape) {
            elements *= dim;
        }
        int elementType;
        int elementBytes;
        if (type == OnnxJavaType.FLOAT) {
            elementType = ELEMENT_FLOAT;
            elementBytes = 4;
        } else if (type == OnnxJavaType.FLOAT16) {
            elementType = ELEMENT_FLOAT16;
            elementBytes = 2;
        } else {
            throw new IllegalArgumentException("a device tensor holds float or float16, not " + type);
        }
        Memory dims = new Memory(8L * shape.length);
        dims.write(0, shape, 0, shape.length);
        PointerByReference out = new PointerByReference();
        call("CreateTensorWithDataAsOrtValue", CREATE_TENSOR_WITH_DATA_AS_ORT_VALUE, memoryInfo, data,
                sizeT(elements * elementBytes), dims, sizeT(shape.length), elementType, out);
        return Wrapping.tensor(Pointer.nativeValue(out.getValue()), shape, type);
    }

    private static NativeLong sizeT(long value) {
        // size_t is pointer-sized on every platform ONNX Runtime ships for; NativeLong is 8 bytes on 64-bit Linux and macOS
        return new NativeLong(value);
    }

    private void call(String name, int slot, Object... args) {
        Pointer status = function(slot).invokePointer(args);
        if (status != null) {
            String message = function(GET_ERROR_MESSAGE).invokeString(new Object[]{status}, false);
            function(RELEASE_STATUS).invokeVoid(new Object[]{status});
            throw new IllegalStateException("ONNX Runtime " + version + " " + name + " failed: " + message);
        }
    }

    private Function function(int slot) {
        return Function.getFunction(api.getPointer((long) slot * Native.POINTER_SIZE));
    }

    /**
     * The path of the {@code libonnxruntime} this process mapped (the Java API extracts it to a temporary folder, or
     * takes it from {@code onnxruntime.native.path}); JNA opening the same file gets the same loaded copy.
     */
    static String loadedLibrary() {
        Path maps = Path.of("/proc/self/maps");
        if (Files.isReadable(maps)) {
            try {
                List<String> lines = Files.readAllLines(maps);
                for (String line : lines) {
                    int slash = line.indexOf('/');
                    if (slash >= 0 && line.matches(".*/libonnxruntime\\.so[.0-9]*$")) {
                        return line.substring(slash).strip();
                    }
                }
            } catch (IOException e) {
                // fall through to the library name
            }
        }
        return Optional.ofNullable(System.getProperty("onnxruntime.native.path"))
                .map(dir -> Path.of(dir, System.mapLibraryName("onnxruntime")).toString())
                .orElse("onnxruntime");
    }

    private static long sessionHandle(OrtSession session) {
        try {
            Field handle = OrtSession.class.getDeclaredField("nativeHandle");
            handle.setAccessible(true);
            return handle.getLong(session);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("cannot reach the native session of this ONNX Runtime Java API (" + e
                    + "); the device-resident KV cache was built against ONNX Runtime 1.29; use kv_cache host", e);
        }
    }

    /** Reflection into ONNX Runtime's Java API for what it keeps package-private, resolved once. */
    private static final class Wrapping {
        private static final Constructor<OnnxTensor> TENSOR;
        private static final Constructor<TensorInfo> INFO;
        private static final long DEFAULT_ALLOCATOR;

        static {
            try {
                TENSOR = OnnxTensor.class.getDeclaredConstructor(long.class, long.class, TensorInfo.class);
                TENSOR.setAccessible(true);
                INFO = TensorInfo.class.getDeclaredConstructor(long[].class, OnnxJavaType.class, TensorInfo.OnnxTensorType.class);
                INFO.setAccessible(true);
                Field allocator = OrtEnvironment.class.getDeclaredField("defaultAllocator");
                allocator.setAccessible(true);
                Object defaultAllocator = allocator.get(OrtEnvironment.getEnvironment());
                Field handle = defaultAllocator.getClass().getDeclaredField("handle");
                handle.setAccessible(true);
                DEFAULT_ALLOCATOR = handle.getLong(defaultAllocator);
            } catch (ReflectiveOperationException | RuntimeException e) {
                throw new IllegalStateException("cannot wrap native tensors with this ONNX Runtime Java API (" + e
                        + "); the device-resident KV cache was built against ONNX Runtime 1.29; use kv_cache host", e);
            }
        }

        static OnnxTensor tensor(long handle, long[] shape, OnnxJavaType type) {
            TensorInfo.OnnxTensorType onnxType = type == OnnxJavaType.FLOAT16
                    ? TensorInfo.OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16
                    : TensorInfo.OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
            try {
                return TENSOR.newInstance(handle, DEFAULT_ALLOCATOR, INFO.newInstance(shape.clone(), type, onnxType));
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot wrap a native tensor: " + e, e);
            }
        }
    }
}
