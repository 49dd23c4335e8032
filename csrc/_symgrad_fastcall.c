/*
 * _symgrad_fastcall: the one-sample call of a compiled symgrad gradient, in C.
 *
 * ``GradFn`` (symgrad/compile/gradfn.py) subclasses ``FastCall`` when this module is
 * built. A call ``f(params, x, y)``, ``f(params, x, y, out)`` or ``f(params, x, y,
 * out=out)`` then runs here: a gradient array (``out``, a kept one nothing else uses any
 * more, or the next row of the gradient slab), the call kernel through numba's
 * dispatcher (which checks the argument types itself), and the ``(loss, gradient)``
 * tuple. The same steps as a Python method cost more than the kernel itself on a small
 * network: calling an instance of a Python class, the dict of a keyword argument, the
 * method's frame.
 *
 * Anything out of the ordinary -- an exception from the kernel (arguments that are not
 * ready arrays, jit=False), a used-up slab, a NaN loss, other keywords or argument
 * counts -- is handed, with the caller's arguments unchanged, to the Python method
 * ``self._call``, which checks and converts the arguments, names what is wrong, and
 * explains a NaN. The fast path never decides an error itself, so the two agree.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <math.h>

/* Two gradient arrays are kept ("spares"), each owning its memory. One that nothing else
   references any more (the caller dropped it, or rebound its name to a newer one) is
   handed out again, which saves making and freeing an array: a third of a small
   network's call. Only a reference count of exactly 1 says "ours alone", and that
   needs the GIL. It also needs an array that owns its memory: a view of a view has the
   memory's owner as its base, so a view of a slab row does not keep the row alive, but
   a view of a spare keeps the spare. When both spares are in use the call takes a row
   of the slab, which is never handed out again. */
#ifdef Py_GIL_DISABLED
#define SPARES 0
#else
#define SPARES 2
#endif

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *call_grad;      /* the call kernel: (params, x, y, grad) -> loss */
    PyObject *rows;           /* an iterator over the rows of the gradient slab */
    PyObject *new_gradient;   /* () -> a new gradient array owning its memory */
    PyObject *spares[SPARES + 1];  /* the kept gradient arrays (NULL: not made yet) */
} FastCall;

/* A spare that only this object references (made first if its slot is empty), as a
   new reference; NULL if both are in use or none can be made. */
static PyObject *
free_spare(FastCall *self, int *slot)
{
    for (int i = 0; i < SPARES; i++) {
        if (self->spares[i] == NULL && self->new_gradient != NULL) {
            self->spares[i] = PyObject_CallNoArgs(self->new_gradient);
            if (self->spares[i] == NULL) {
                PyErr_Clear();  /* the slab's row will do */
                return NULL;
            }
        }
        if (self->spares[i] != NULL && Py_REFCNT(self->spares[i]) == 1) {
            *slot = i;
            return Py_NewRef(self->spares[i]);
        }
    }
    return NULL;
}

static PyObject *str_call;  /* "_call" */
static PyObject *str_out;   /* "out" */

static PyObject *
slow_call(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    PyObject *method = PyObject_GetAttr(self, str_call);
    if (method == NULL)
        return NULL;
    PyObject *result = PyObject_Vectorcall(method, args, PyVectorcall_NARGS(nargsf), kwnames);
    Py_DECREF(method);
    return result;
}

/* Clear an ordinary exception (an Exception) and return 1. KeyboardInterrupt and
   SystemExit are left set (0): Ctrl-C during a first compile must stop the call, not
   start the compile again in the Python method. */
static int
clear_ordinary_error(void)
{
    if (!PyErr_ExceptionMatches(PyExc_Exception))
        return 0;
    PyErr_Clear();
    return 1;
}

static PyObject *
fastcall_vectorcall(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    FastCall *self = (FastCall *)op;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    PyObject *out = NULL;

    if (nkw == 1) {  /* out=... (the one keyword the fast path takes) */
        PyObject *name = PyTuple_GET_ITEM(kwnames, 0);
        if (nargs != 3 || (name != str_out && PyUnicode_Compare(name, str_out) != 0))
            goto slow;
        out = args[3];
    }
    else if (nkw != 0 || nargs < 1 || nargs > 4)
        goto slow;
    else if (nargs == 4)
        out = args[3];
    if (self->call_grad == NULL || self->rows == NULL)
        goto slow;

    PyObject *grad;
    int spare = -1;  /* the slot of a kept array handed out again */
    if (out != NULL && out != Py_None) {
        Py_INCREF(out);
        grad = out;
    }
    else if ((grad = free_spare(self, &spare)) == NULL) {
        grad = PyIter_Next(self->rows);
        if (grad == NULL) {  /* the slab is used up: the Python method makes a new one */
            if (PyErr_Occurred() && !clear_ordinary_error())
                return NULL;
            goto slow;
        }
    }
    PyObject *call[4] = {
        args[0], nargs > 1 ? args[1] : Py_None, nargs > 2 ? args[2] : Py_None, grad,
    };
    /* A strong reference for the call: a first call compiles, and sets _call_grad anew. */
    PyObject *kernel = Py_NewRef(self->call_grad);
    PyObject *loss = PyObject_Vectorcall(kernel, call, 4, NULL);
    Py_DECREF(kernel);
    if (loss == NULL || !PyFloat_CheckExact(loss) || isnan(PyFloat_AS_DOUBLE(loss))) {
        /* Not ready arguments, an error or a NaN: the Python method checks the arguments
           and calls again, so it raises (or explains) exactly what it would have alone. */
        Py_XDECREF(loss);
        Py_DECREF(grad);
        if (spare >= 0)  /* the caller may have changed a kept array (its shape, its flags) */
            Py_CLEAR(self->spares[spare]);
        if (loss == NULL && !clear_ordinary_error())
            return NULL;
        goto slow;
    }
    PyObject *result = PyTuple_New(2);
    if (result == NULL) {
        Py_DECREF(loss);
        Py_DECREF(grad);
        return NULL;
    }
    PyTuple_SET_ITEM(result, 0, loss);
    PyTuple_SET_ITEM(result, 1, grad);
    return result;

slow:
    return slow_call(op, args, nargsf, kwnames);
}

static PyObject *
fastcall_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    FastCall *self = (FastCall *)type->tp_alloc(type, 0);
    if (self != NULL)
        self->vectorcall = fastcall_vectorcall;
    return (PyObject *)self;
}

static int
fastcall_traverse(FastCall *self, visitproc visit, void *arg)
{
    Py_VISIT(self->call_grad);
    Py_VISIT(self->rows);
    Py_VISIT(self->new_gradient);
    for (int i = 0; i < SPARES; i++)
        Py_VISIT(self->spares[i]);
    return 0;
}

static int
fastcall_clear(FastCall *self)
{
    Py_CLEAR(self->call_grad);
    Py_CLEAR(self->rows);
    Py_CLEAR(self->new_gradient);
    for (int i = 0; i < SPARES; i++)
        Py_CLEAR(self->spares[i]);
    return 0;
}

static void
fastcall_dealloc(FastCall *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    fastcall_clear(self);
    type->tp_free((PyObject *)self);
}

static PyMemberDef fastcall_members[] = {
    {"_call_grad", T_OBJECT_EX, offsetof(FastCall, call_grad), 0,
     "the call kernel, (params, x, y, grad) -> loss"},
    {"_rows", T_OBJECT_EX, offsetof(FastCall, rows), 0,
     "an iterator over the rows of the gradient slab"},
    {"_new_gradient", T_OBJECT_EX, offsetof(FastCall, new_gradient), 0,
     "() -> a new gradient array owning its memory (the kept spares are made by it)"},
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(FastCall, vectorcall), READONLY, NULL},
    {NULL},
};

static PyTypeObject FastCallType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_symgrad_fastcall.FastCall",
    .tp_doc = PyDoc_STR("Base of symgrad's GradFn: the one-sample call in C (see the module's docstring)."),
    .tp_basicsize = sizeof(FastCall),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_new = fastcall_new,
    .tp_traverse = (traverseproc)fastcall_traverse,
    .tp_clear = (inquiry)fastcall_clear,
    .tp_dealloc = (destructor)fastcall_dealloc,
    .tp_members = fastcall_members,
    .tp_vectorcall_offset = offsetof(FastCall, vectorcall),
    .tp_call = PyVectorcall_Call,
};

/* Python 3.12 lets a subclass that does not define __call__ keep its base's vectorcall
   (and takes it away again if __call__ is assigned later); 3.11 gives every Python
   subclass the generic tp_call, which packs the arguments in a tuple first. */
static PyObject *
inherit_vectorcall(PyObject *module, PyObject *cls)
{
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, &FastCallType)) {
        PyErr_SetString(PyExc_TypeError, "inherit_vectorcall takes a subclass of FastCall");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)cls;
    if (type->tp_call == PyVectorcall_Call && type->tp_vectorcall_offset == FastCallType.tp_vectorcall_offset)
        type->tp_flags |= Py_TPFLAGS_HAVE_VECTORCALL;
    return PyBool_FromLong(PyType_HasFeature(type, Py_TPFLAGS_HAVE_VECTORCALL));
}

static PyMethodDef fastcall_functions[] = {
    {"inherit_vectorcall", inherit_vectorcall, METH_O,
     PyDoc_STR("Let a subclass of FastCall that does not define __call__ be called without an argument tuple; "
               "returns whether it is.")},
    {NULL},
};

static struct PyModuleDef fastcall_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_symgrad_fastcall",
    .m_doc = PyDoc_STR("symgrad's one-sample call in C; symgrad runs without it, more slowly."),
    .m_size = -1,
    .m_methods = fastcall_functions,
};

PyMODINIT_FUNC
PyInit__symgrad_fastcall(void)
{
    str_call = PyUnicode_InternFromString("_call");
    str_out = PyUnicode_InternFromString("out");
    if (str_call == NULL || str_out == NULL || PyType_Ready(&FastCallType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&fastcall_module);
    if (module == NULL)
        return NULL;
    Py_INCREF(&FastCallType);
    if (PyModule_AddObject(module, "FastCall", (PyObject *)&FastCallType) < 0) {
        Py_DECREF(&FastCallType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
