import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;

/**
 * Mutual-TLS handshakes between Elasticsearch transport identities, on JSSE, on loopback.
 *
 * <p>Driven by harness/handshake.py. One JVM runs a whole batch so JVM start-up and JSSE
 * initialisation are paid once. Usage: {@code java TransportHandshake <timeoutMillis>}, one pair
 * per stdin line, 13 tab-separated URL-encoded fields:
 *
 * <pre>
 * serverName verifyHostname(true|false) protocols(comma-separated)
 * server: kind(pem|pkcs12) a b c d      client: kind a b c d
 *   pem:    a=certificate chain PEM, b=UNENCRYPTED PKCS#8 key PEM, c=CA bundle PEM, d=unused
 *   pkcs12: a=keystore, b=keystore password, c=truststore, d=truststore password
 * </pre>
 *
 * One stdout line per pair, in input order, fields URL-encoded:
 * {@code RESULT index ok protocol serverError clientError}, or {@code SETUP index message} when an
 * identity cannot be loaded at all (a broken test input, not a handshake outcome).
 *
 * <p>Mirrors Elasticsearch transport with {@code client_authentication: required}: the server
 * demands a client certificate and checks it with the default PKIX trust manager (which also runs
 * sun.security.validator.EndEntityChecker, the source of the EKU errors), and the client, with
 * verifyHostname, uses endpoint identification "HTTPS" as Elasticsearch does for
 * {@code verification_mode: full}.
 */
public final class TransportHandshake {
    private static final byte[] PING = "ping".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] PONG = "pong".getBytes(StandardCharsets.US_ASCII);
    // Only protects the in-memory key entry built from PEM files; never written anywhere.
    private static final char[] IN_MEMORY_PASSWORD = "in-memory".toCharArray();

    private TransportHandshake() {}

    /** One side's key and trust material, as the Elasticsearch settings name it. */
    private record Identity(String kind, String a, String b, String c, String d) {}

    private record Spec(
            String serverName,
            boolean verifyHostname,
            String[] protocols,
            Identity server,
            Identity client) {}

    /** Thrown when an identity cannot be turned into an SSLContext at all. */
    private static final class SetupException extends Exception {
        private static final long serialVersionUID = 1L;

        SetupException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    public static void main(String[] args) throws Exception {
        int timeoutMillis = Integer.parseInt(args[0]);
        BufferedReader in =
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out =
                new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
        ExecutorService threads =
                Executors.newCachedThreadPool(
                        r -> {
                            Thread t = new Thread(r, "handshake");
                            // A stuck side must never keep the JVM alive after the batch.
                            t.setDaemon(true);
                            return t;
                        });
        String line;
        int index = 0;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            try {
                String[] r = runPair(parse(line), timeoutMillis, threads);
                out.println("RESULT\t" + index + "\t" + String.join("\t", r));
            } catch (SetupException e) {
                out.println("SETUP\t" + index + "\t" + enc(describe(e)));
            }
            index++;
        }
        threads.shutdownNow();
    }

    private static Spec parse(String line) {
        String[] f = line.split("\t", -1);
        if (f.length != 13) {
            throw new IllegalArgumentException("expected 13 fields, got " + f.length);
        }
        for (int i = 0; i < f.length; i++) {
            f[i] = URLDecoder.decode(f[i], StandardCharsets.UTF_8);
        }
        return new Spec(
                f[0],
                Boolean.parseBoolean(f[1]),
                f[2].split(","),
                new Identity(f[3], f[4], f[5], f[6], f[7]),
                new Identity(f[8], f[9], f[10], f[11], f[12]));
    }

    /** Returns {ok, protocol, serverError, clientError}, URL-encoded. */
    private static String[] runPair(Spec spec, int timeoutMillis, ExecutorService threads)
            throws Exception {
        SSLContext serverContext = context(spec.server(), "server");
        SSLContext clientContext = context(spec.client(), "client");
        String[] protocol = {""};
        try (ServerSocket listener = new ServerSocket()) {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
            listener.setSoTimeout(timeoutMillis);
            int port = listener.getLocalPort();

            Callable<String> server =
                    () -> {
                        try (Socket plain = listener.accept()) {
                            plain.setSoTimeout(timeoutMillis);
                            // As Elasticsearch's transport.tcp.no_delay default; without it Nagle
                            // and delayed ACKs add ~40 ms stalls to each small write.
                            plain.setTcpNoDelay(true);
                            // Layered over a plain socket (autoClose=false) so that, after a
                            // failure, we can half-close and drain before closing: closing with
                            // unread peer data would send an RST that can overtake the TLS
                            // alert, and the peer would report "Connection reset" instead of
                            // the real reason.
                            SSLSocket tls =
                                    (SSLSocket)
                                            serverContext
                                                    .getSocketFactory()
                                                    .createSocket(plain, null, false);
                            tls.setUseClientMode(false);
                            tls.setEnabledProtocols(spec.protocols());
                            tls.setNeedClientAuth(true);
                            try {
                                tls.startHandshake();
                                expect(tls.getInputStream(), PING);
                                OutputStream o = tls.getOutputStream();
                                o.write(PONG);
                                o.flush();
                                protocol[0] = tls.getSession().getProtocol();
                                tls.close();
                                return "";
                            } catch (Exception e) {
                                linger(plain, timeoutMillis);
                                return describe(e);
                            }
                        } catch (Exception e) {
                            return describe(e);
                        }
                    };

            Callable<String> client =
                    () -> {
                        try (Socket plain = new Socket()) {
                            plain.setTcpNoDelay(true);
                            plain.connect(
                                    new InetSocketAddress(InetAddress.getLoopbackAddress(), port),
                                    timeoutMillis);
                            plain.setSoTimeout(timeoutMillis);
                            SSLSocketFactory factory = clientContext.getSocketFactory();
                            // Passing the node name as host makes JSSE send it as SNI and use it
                            // as the peer host for endpoint identification, while the TCP
                            // connection goes to 127.0.0.1.
                            SSLSocket tls =
                                    (SSLSocket)
                                            factory.createSocket(
                                                    plain, spec.serverName(), port, false);
                            SSLParameters params = tls.getSSLParameters();
                            params.setProtocols(spec.protocols());
                            if (spec.verifyHostname()) {
                                params.setEndpointIdentificationAlgorithm("HTTPS");
                            }
                            tls.setSSLParameters(params);
                            try {
                                tls.startHandshake();
                                OutputStream o = tls.getOutputStream();
                                o.write(PING);
                                o.flush();
                                // With TLS 1.3 the server judges our certificate after our
                                // handshake has completed; only this read sees its verdict.
                                expect(tls.getInputStream(), PONG);
                                tls.close();
                                return "";
                            } catch (Exception e) {
                                linger(plain, timeoutMillis);
                                return describe(e);
                            }
                        } catch (Exception e) {
                            return describe(e);
                        }
                    };

            Future<String> serverResult = threads.submit(server);
            Future<String> clientResult = threads.submit(client);
            String clientError = await(clientResult, timeoutMillis, "client");
            String serverError = await(serverResult, timeoutMillis, "server");
            boolean ok = serverError.isEmpty() && clientError.isEmpty();
            return new String[] {
                Boolean.toString(ok), enc(ok ? protocol[0] : ""), enc(serverError), enc(clientError)
            };
        }
    }

    private static String await(Future<String> f, int timeoutMillis, String side)
            throws InterruptedException {
        try {
            // Each socket operation is bounded by timeoutMillis; allow a few of them.
            return f.get(4L * timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            return "TimeoutException: " + side + " did not finish";
        } catch (java.util.concurrent.ExecutionException e) {
            return describe(e.getCause());
        }
    }

    private static void expect(InputStream in, byte[] wanted) throws IOException {
        byte[] got = in.readNBytes(wanted.length);
        if (!Arrays.equals(got, wanted)) {
            throw new IOException(
                    "expected "
                            + new String(wanted, StandardCharsets.US_ASCII)
                            + ", got "
                            + new String(got, StandardCharsets.US_ASCII)
                            + " (peer closed?)");
        }
    }

    /** Half-close, then read until the peer closes (bounded), so our alert reaches the peer. */
    private static void linger(Socket plain, int timeoutMillis) {
        try {
            if (plain.isClosed()) {
                return;
            }
            plain.setSoTimeout(Math.min(timeoutMillis, 2000));
            plain.shutdownOutput();
            InputStream in = plain.getInputStream();
            byte[] buf = new byte[4096];
            while (in.read(buf) >= 0) {
                // discard
            }
        } catch (IOException ignored) {
            // Best effort: the socket may already be closed by JSSE or reset by the peer.
        }
    }

    /** Key and trust managers of one identity; cached because PKCS#12 loading is costly. */
    private record Managers(KeyManager[] keyManagers, TrustManager[] trustManagers) {}

    private static final Map<Identity, Managers> MANAGERS = new HashMap<>();

    /**
     * A FRESH SSLContext per side and pair, over cached managers: a shared context would share its
     * session cache, and a resumed session skips certificate verification, so one pair's success
     * could leak into another pair's verdict.
     */
    private static SSLContext context(Identity id, String side) throws SetupException {
        try {
            Managers managers = MANAGERS.get(id);
            if (managers == null) {
                managers = managers(id);
                MANAGERS.put(id, managers);
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(managers.keyManagers(), managers.trustManagers(), null);
            return ctx;
        } catch (Exception e) {
            throw new SetupException(side + " identity " + id.kind() + " " + id.a(), e);
        }
    }

    private static Managers managers(Identity id) throws Exception {
        KeyStore keyStore;
        char[] keyPassword;
        KeyStore trustStore;
        switch (id.kind()) {
            case "pem" -> {
                List<X509Certificate> chain = readCertificates(id.a());
                PrivateKey key = readPkcs8(id.b(), chain.get(0).getPublicKey().getAlgorithm());
                // In-memory only. JKS because its key protection is cheap, where an in-memory
                // PKCS12 runs PBKDF2 on every setKeyEntry/getKey; the store type does not change
                // how the key manager picks the key or how the trust manager validates.
                keyStore = KeyStore.getInstance("JKS");
                keyStore.load(null, null);
                keyPassword = IN_MEMORY_PASSWORD;
                keyStore.setKeyEntry("node", key, keyPassword, chain.toArray(new Certificate[0]));
                trustStore = KeyStore.getInstance("JKS");
                trustStore.load(null, null);
                int n = 0;
                for (X509Certificate ca : readCertificates(id.c())) {
                    trustStore.setCertificateEntry("ca-" + n++, ca);
                }
            }
            case "pkcs12" -> {
                // As Elasticsearch's keystore.path / truststore.path: the files themselves.
                keyPassword = id.b().toCharArray();
                keyStore = loadPkcs12(id.a(), keyPassword);
                trustStore = loadPkcs12(id.c(), id.d().toCharArray());
                if (trustStore.size() == 0) {
                    throw new IllegalArgumentException("truststore " + id.c() + " has no entries");
                }
            }
            default -> throw new IllegalArgumentException("unknown identity kind " + id.kind());
        }
        // The JDK defaults (SunX509, PKIX), which is what Elasticsearch uses.
        KeyManagerFactory kmf =
                KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keyStore, keyPassword);
        TrustManagerFactory tmf =
                TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trustStore);
        return new Managers(kmf.getKeyManagers(), tmf.getTrustManagers());
    }

    private static KeyStore loadPkcs12(String path, char[] password) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(Path.of(path))) {
            ks.load(in, password);
        }
        return ks;
    }

    private static List<X509Certificate> readCertificates(String path) throws Exception {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<X509Certificate> certs = new ArrayList<>();
        try (InputStream in = Files.newInputStream(Path.of(path))) {
            for (Certificate c : cf.generateCertificates(in)) {
                certs.add((X509Certificate) c);
            }
        }
        if (certs.isEmpty()) {
            throw new IllegalArgumentException("no certificates in " + path);
        }
        return certs;
    }

    private static PrivateKey readPkcs8(String path, String algorithm) throws Exception {
        String pem = Files.readString(Path.of(path), StandardCharsets.US_ASCII);
        String begin = "-----BEGIN PRIVATE KEY-----";
        String end = "-----END PRIVATE KEY-----";
        int from = pem.indexOf(begin);
        int to = pem.indexOf(end);
        if (from < 0 || to < from) {
            throw new IllegalArgumentException(path + " is not an unencrypted PKCS#8 PEM key");
        }
        byte[] der = Base64.getMimeDecoder().decode(pem.substring(from + begin.length(), to));
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
    }

    /** Every distinct message of the cause chain, with class names: the real JSSE text. */
    private static String describe(Throwable e) {
        Set<String> parts = new LinkedHashSet<>();
        for (Throwable t = e; t != null; t = t.getCause()) {
            String message = t.getMessage();
            String part = t.getClass().getName() + (message == null ? "" : ": " + message);
            // Wrapping exceptions often repeat the cause's toString() as their message.
            if (t.getCause() != null && t.getCause().toString().equals(message)) {
                continue;
            }
            parts.add(part);
        }
        return String.join(" | caused by: ", parts);
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
