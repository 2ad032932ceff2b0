package aroma.neo4j;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.cli.AdminTool;
import org.neo4j.cli.ExecutionContext;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.ConnectorPortRegister;
import org.neo4j.configuration.connectors.ConnectorType;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.io.ByteUnit;
import org.neo4j.kernel.internal.GraphDatabaseAPI;

/**
 * Neo4j 5 Community for aroma, in one JVM, without an install.
 *
 * <pre>
 * serve HOME PORT   Bolt on 127.0.0.1:PORT (0 = any free port), authentication on; the first line of stdin is
 *                   the password of user neo4j. Prints "aroma-neo4j ready bolt://127.0.0.1:N version V" once
 *                   Bolt accepts connections; stops cleanly when stdin closes or on SIGTERM/SIGINT.
 * admin HOME ARGS   neo4j-admin with HOME as NEO4J_HOME (e.g. "database import full neo4j ...").
 * </pre>
 */
public final class Launcher {
    private Launcher() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length >= 2 && args[0].equals("admin")) {
            System.exit(admin(Path.of(args[1]).toAbsolutePath(), java.util.Arrays.copyOfRange(args, 2, args.length)));
        } else if (args.length == 3 && args[0].equals("serve")) {
            try {
                serve(Path.of(args[1]).toAbsolutePath(), Integer.parseInt(args[2]));
            } catch (Throwable e) {
                e.printStackTrace();
                System.exit(1);  // the server's threads must not keep the JVM alive
            }
        } else {
            System.err.println("usage: Launcher serve HOME PORT | admin HOME NEO4J-ADMIN-ARGS...");
            System.exit(2);
        }
    }

    private static int admin(Path home, String[] args) throws Exception {
        Path conf = home.resolve("conf");
        Files.createDirectories(conf);
        return AdminTool.execute(new ExecutionContext(home, conf), args);
    }

    private static void serve(Path home, int port) throws Exception {
        BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String password = stdin.readLine();
        if (password == null || password.length() < 8) {
            System.err.println("error: the first line of stdin must be the password (8 characters or more)");
            System.exit(2);
        }
        Files.createDirectories(home);
        DatabaseManagementService service = new DatabaseManagementServiceBuilder(home)
                .setConfig(Map.of(
                        GraphDatabaseSettings.auth_enabled, true,
                        BoltConnector.enabled, true,
                        BoltConnector.listen_address, new SocketAddress("127.0.0.1", port),
                        BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED,
                        GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(
                                Long.getLong("aroma.pagecache.mb", 512L)),
                        GraphDatabaseSettings.transaction_timeout, Duration.ZERO))
                .build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            service.shutdown();
            stopped.countDown();
        }, "aroma-neo4j-shutdown"));

        GraphDatabaseAPI system = (GraphDatabaseAPI) service.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
        boolean unchanged = system.executeTransactionally(
                "SHOW USERS YIELD user, passwordChangeRequired WHERE user = 'neo4j' RETURN passwordChangeRequired",
                Map.of(), result -> result.hasNext() && !(Boolean) result.next().get("passwordChangeRequired"));
        try {
            system.executeTransactionally("ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED",
                    Map.of("password", password));
        } catch (RuntimeException e) {
            if (!unchanged || !String.valueOf(e.getMessage()).contains("cannot be the same")) {
                throw e;  // a restart with the same password is fine; anything else is not
            }
        }
        int bound = system.getDependencyResolver().resolveDependency(ConnectorPortRegister.class)
                .getLocalAddress(ConnectorType.BOLT).getPort();
        String version = org.neo4j.kernel.internal.Version.getNeo4jVersion();
        System.out.println("aroma-neo4j ready bolt://127.0.0.1:" + bound + " version " + version);
        System.out.flush();

        while (stdin.readLine() != null) {
            // any further input is ignored; end of input means the parent is done (or gone)
        }
        System.exit(0);  // runs the shutdown hook
    }
}
