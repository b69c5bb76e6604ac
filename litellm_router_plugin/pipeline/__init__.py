"""The one request path: plan -> admit -> call -> settle (``Pipeline``), and the ``Ticket`` it issues."""
